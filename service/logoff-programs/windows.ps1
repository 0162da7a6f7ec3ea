# Log off every session that has a user, as qemu-ga's guest-get-users lists them. Exit 0 when every
# such session was logged off, else 1 with the reasons on stderr.
# Winlogon logs the AutoAdminLogon user straight back in at the console: that is said on stdout
# ("vpc-logoff: autologin console"), so the daemon waits for the user to come back.
trap { [Console]::Error.WriteLine("windows: " + $_); exit 1 }
Add-Type -Namespace VpcGuestOs -Name WtsLogoff -MemberDefinition @'
[DllImport("wtsapi32.dll", SetLastError = true)]
public static extern bool WTSLogoffSession(IntPtr server, int session, bool wait);
'@
$failed = 0
foreach ($id in (Get-UserSessionIds)) {
    if (-not [VpcGuestOs.WtsLogoff]::WTSLogoffSession([IntPtr]::Zero, $id, $false)) {
        $e = [Runtime.InteropServices.Marshal]::GetLastWin32Error()
        # A session that ended meanwhile is not a failure.
        if ((Get-SessionUser $id) -ne '') {
            [Console]::Error.WriteLine("windows: WTSLogoffSession($id): error $e")
            $failed++
        }
    }
}
if ($failed -gt 0) { exit 1 }
$winlogon = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon' `
    -Name AutoAdminLogon -ErrorAction SilentlyContinue
if ($winlogon -and "$($winlogon.AutoAdminLogon)" -eq '1') { [Console]::Out.WriteLine('vpc-logoff: autologin console') }
exit 0
