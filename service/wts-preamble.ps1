# The Windows programs' shared start (service/wts-preamble.ps1; embed-programs.py puts it before
# each program): stop at the first error, no progress records on the agent's pipes, and the WTS API
# (independent of the display language, present on every edition) to list the sessions that have a
# user. Each program declares the one WTS call it acts with, and its own trap (a trap applies to
# its whole scope, these lines included) names it in its errors.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Add-Type -Namespace VpcGuestOs -Name Wts -MemberDefinition @'
[DllImport("wtsapi32.dll", SetLastError = true)]
public static extern bool WTSEnumerateSessionsW(IntPtr server, int reserved, int version, out IntPtr info, out int count);
[DllImport("wtsapi32.dll", SetLastError = true)]
public static extern bool WTSQuerySessionInformationW(IntPtr server, int session, int infoClass, out IntPtr buffer, out int bytes);
[DllImport("wtsapi32.dll")]
public static extern void WTSFreeMemory(IntPtr memory);
'@
function Get-SessionUser([int]$id) {
    $buffer = [IntPtr]::Zero
    $bytes = 0
    # 5: WTSUserName
    if (-not [VpcGuestOs.Wts]::WTSQuerySessionInformationW([IntPtr]::Zero, $id, 5, [ref]$buffer, [ref]$bytes)) {
        return ''
    }
    try { return [Runtime.InteropServices.Marshal]::PtrToStringUni($buffer) }
    finally { [VpcGuestOs.Wts]::WTSFreeMemory($buffer) }
}
# The ids of the sessions that have a user (with -Active, of the active ones only); never session 0
# (services).
function Get-UserSessionIds([switch]$Active) {
    $info = [IntPtr]::Zero
    $count = 0
    if (-not [VpcGuestOs.Wts]::WTSEnumerateSessionsW([IntPtr]::Zero, 0, 1, [ref]$info, [ref]$count)) {
        $e = [Runtime.InteropServices.Marshal]::GetLastWin32Error()
        throw "WTSEnumerateSessionsW: error $e"
    }
    # WTS_SESSION_INFOW: DWORD SessionId; LPWSTR pWinStationName; WTS_CONNECTSTATE_CLASS State
    $size = 3 * [IntPtr]::Size
    $ids = @()
    try {
        for ($i = 0; $i -lt $count; $i++) {
            $entry = [IntPtr]($info.ToInt64() + $i * $size)
            # 0: WTSActive
            if ($Active -and [Runtime.InteropServices.Marshal]::ReadInt32($entry, 2 * [IntPtr]::Size) -ne 0) { continue }
            $ids += [Runtime.InteropServices.Marshal]::ReadInt32($entry)
        }
    } finally { [VpcGuestOs.Wts]::WTSFreeMemory($info) }
    foreach ($id in $ids) {
        if ($id -eq 0 -or (Get-SessionUser $id) -eq '') { continue }
        $id
    }
}
