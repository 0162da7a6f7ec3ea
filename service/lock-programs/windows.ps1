# Lock every active session with a user by disconnecting it (WTSDisconnectSession): the session
# keeps running with its programs, and the console shows the lock screen until the user signs in
# again; a disconnected session is locked already. Exit 0 when every such session was disconnected,
# else 1 with the reasons on stderr.
trap { [Console]::Error.WriteLine("windows: " + $_); exit 1 }
Add-Type -Namespace VpcGuestOs -Name WtsLock -MemberDefinition @'
[DllImport("wtsapi32.dll", SetLastError = true)]
public static extern bool WTSDisconnectSession(IntPtr server, int session, bool wait);
'@
$failed = 0
foreach ($id in (Get-UserSessionIds -Active)) {
    if (-not [VpcGuestOs.WtsLock]::WTSDisconnectSession([IntPtr]::Zero, $id, $true)) {
        $e = [Runtime.InteropServices.Marshal]::GetLastWin32Error()
        # A session that ended meanwhile is not a failure.
        if ((Get-SessionUser $id) -ne '') {
            [Console]::Error.WriteLine("windows: WTSDisconnectSession($id): error $e")
            $failed++
        }
    }
}
if ($failed -gt 0) { exit 1 }
exit 0
