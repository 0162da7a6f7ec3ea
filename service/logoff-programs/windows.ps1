# Log off every session that has a user, as qemu-ga's guest-get-users lists them (WTS API, so
# independent of the display language, and present on every edition). Session 0 (services) is
# never touched. Exit 0 when every such session was logged off, else 1 with the reasons on stderr.
# Winlogon logs the AutoAdminLogon user straight back in at the console: that is said on stdout
# ("vpc-logoff: autologin console"), so the daemon waits for the user to come back.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
trap { [Console]::Error.WriteLine("windows: " + $_); exit 1 }
Add-Type -Namespace VpcGuestOs -Name Wts -MemberDefinition @'
[DllImport("wtsapi32.dll", SetLastError = true)]
public static extern bool WTSEnumerateSessionsW(IntPtr server, int reserved, int version, out IntPtr info, out int count);
[DllImport("wtsapi32.dll", SetLastError = true)]
public static extern bool WTSQuerySessionInformationW(IntPtr server, int session, int infoClass, out IntPtr buffer, out int bytes);
[DllImport("wtsapi32.dll", SetLastError = true)]
public static extern bool WTSLogoffSession(IntPtr server, int session, bool wait);
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
$info = [IntPtr]::Zero
$count = 0
if (-not [VpcGuestOs.Wts]::WTSEnumerateSessionsW([IntPtr]::Zero, 0, 1, [ref]$info, [ref]$count)) {
    $e = [Runtime.InteropServices.Marshal]::GetLastWin32Error()
    [Console]::Error.WriteLine("windows: WTSEnumerateSessionsW: error $e")
    exit 1
}
# WTS_SESSION_INFOW: DWORD SessionId; LPWSTR pWinStationName; WTS_CONNECTSTATE_CLASS State
$size = 3 * [IntPtr]::Size
$ids = @()
try {
    for ($i = 0; $i -lt $count; $i++) {
        $ids += [Runtime.InteropServices.Marshal]::ReadInt32([IntPtr]($info.ToInt64() + $i * $size))
    }
} finally { [VpcGuestOs.Wts]::WTSFreeMemory($info) }
$failed = 0
foreach ($id in $ids) {
    if ($id -eq 0 -or (Get-SessionUser $id) -eq '') { continue }
    if (-not [VpcGuestOs.Wts]::WTSLogoffSession([IntPtr]::Zero, $id, $false)) {
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
