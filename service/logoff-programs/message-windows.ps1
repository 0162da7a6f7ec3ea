# LogoffWithOptions' message: stdin (UTF-8) holds the grace in seconds (first line) and the message
# (the rest), data never run as code. Every session that has a user gets it in a message box
# (WTSSendMessageW) that closes itself after the grace; nobody's answer is waited for. Exit 0 once
# every such session was sent it, else 1 with the reasons on stderr; 2 for a malformed stdin.
trap { [Console]::Error.WriteLine("message-windows: " + $_); exit 1 }
$reader = New-Object IO.StreamReader([Console]::OpenStandardInput(), (New-Object Text.UTF8Encoding($false)))
$grace = $reader.ReadLine()
if ($grace -notmatch '^[0-9]{1,9}$') { [Console]::Error.WriteLine("message-windows: no grace on stdin"); exit 2 }
$text = $reader.ReadToEnd()
Add-Type -Namespace VpcGuestOs -Name WtsMessage -MemberDefinition @'
[DllImport("wtsapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
public static extern bool WTSSendMessageW(IntPtr server, int session, string title, int titleBytes, string message, int messageBytes, int style, int timeout, out int response, bool wait);
'@
$title = 'Message from the administrator'
if ([int]$grace -gt 0) { $head = "You will be logged off in $grace seconds." } else { $head = 'You will be logged off now.' }
$body = $head + "`r`n`r`n" + ($text -replace "`r?`n", "`r`n")
$failed = 0
$sent = 0
foreach ($id in (Get-UserSessionIds)) {
    $response = 0
    # Style 0x30: MB_OK | MB_ICONWARNING; lengths in bytes; bWait false: no answer is waited for.
    if (-not [VpcGuestOs.WtsMessage]::WTSSendMessageW([IntPtr]::Zero, $id, $title, 2 * $title.Length, $body,
            2 * $body.Length, 0x30, [int]$grace, [ref]$response, $false)) {
        $e = [Runtime.InteropServices.Marshal]::GetLastWin32Error()
        if ((Get-SessionUser $id) -ne '') {
            [Console]::Error.WriteLine("message-windows: WTSSendMessageW($id): error $e")
            $failed++
        }
    } else { $sent++ }
}
[Console]::Out.WriteLine("message-windows: $sent session(s)")
if ($failed -gt 0) { exit 1 }
exit 0
