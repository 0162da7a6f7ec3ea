# Lock every active session with a user by disconnecting it (WTSDisconnectSession, WTS API, so
# independent of the display language): the session keeps running with its programs, and the
# console shows the lock screen until the user signs in again. Session 0 (services) is never touched.
# Exit 0 when every such session was disconnected, else 1 with the reasons on stderr.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
trap { [Console]::Error.WriteLine("windows: " + $_); exit 1 }
Add-Type -Namespace VpcGuestOs -Name WtsLock -MemberDefinition @'
[DllImport("wtsapi32.dll", SetLastError = true)]
public static extern bool WTSEnumerateSessionsW(IntPtr server, int reserved, int version, out IntPtr info, out int count);
[DllImport("wtsapi32.dll", SetLastError = true)]
public static extern bool WTSQuerySessionInformationW(IntPtr server, int session, int infoClass, out IntPtr buffer, out int bytes);
[DllImport("wtsapi32.dll", SetLastError = true)]
public static extern bool WTSDisconnectSession(IntPtr server, int session, bool wait);
[DllImport("wtsapi32.dll")]
public static extern void WTSFreeMemory(IntPtr memory);
'@
function Get-SessionUser([int]$id) {
    $buffer = [IntPtr]::Zero
    $bytes = 0
    # 5: WTSUserName
    if (-not [VpcGuestOs.WtsLock]::WTSQuerySessionInformationW([IntPtr]::Zero, $id, 5, [ref]$buffer, [ref]$bytes)) {
        return ''
    }
    try { return [Runtime.InteropServices.Marshal]::PtrToStringUni($buffer) }
    finally { [VpcGuestOs.WtsLock]::WTSFreeMemory($buffer) }
}
$info = [IntPtr]::Zero
$count = 0
if (-not [VpcGuestOs.WtsLock]::WTSEnumerateSessionsW([IntPtr]::Zero, 0, 1, [ref]$info, [ref]$count)) {
    $e = [Runtime.InteropServices.Marshal]::GetLastWin32Error()
    [Console]::Error.WriteLine("windows: WTSEnumerateSessionsW: error $e")
    exit 1
}
# WTS_SESSION_INFOW: DWORD SessionId; LPWSTR pWinStationName; WTS_CONNECTSTATE_CLASS State
$size = 3 * [IntPtr]::Size
$ids = @()
try {
    for ($i = 0; $i -lt $count; $i++) {
        $entry = [IntPtr]($info.ToInt64() + $i * $size)
        # 0: WTSActive; a disconnected session is locked already
        if ([Runtime.InteropServices.Marshal]::ReadInt32($entry, 2 * [IntPtr]::Size) -ne 0) { continue }
        $ids += [Runtime.InteropServices.Marshal]::ReadInt32($entry)
    }
} finally { [VpcGuestOs.WtsLock]::WTSFreeMemory($info) }
$failed = 0
foreach ($id in $ids) {
    if ($id -eq 0 -or (Get-SessionUser $id) -eq '') { continue }
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
