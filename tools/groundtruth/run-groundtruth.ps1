<#
.SYNOPSIS
  Produce leakscope ground-truth dumps: runs gtalloc as x64 and x86 (WoW64), with the NT heap and
  the segment heap, with and without gflags +ust and +hpa, and zips the dumps with their manifests.

.DESCRIPTION
  For every combination the script sets the Image File Execution Options (IFEO) of the gtalloc
  executable, runs it once (it writes <label>.json and <label>.dmp), and restores every registry
  value it touched - on success, on error and on Ctrl+C (try/finally). Needs an elevated
  PowerShell (IFEO lives under HKLM). Windows PowerShell 5.1 and PowerShell 7 both work.

  IFEO values used (REG_DWORD, under ...\Image File Execution Options\<exe name>):
    GlobalFlag                 0x00001000 (+ust), 0x02000000 (+hpa), or both
    PageHeapFlags              0x3 with +hpa (full page heap)
    FrontEndHeapDebugOptions   0x08 = segment heap for this image

  The two executables get distinct names (gtalloc64.exe / gtalloc32.exe) in the output folder, so
  their IFEO keys never affect each other or any other program.

.PARAMETER X64Exe
  gtalloc built for x64. Default: .\bin\x64\gtalloc.exe next to this script.
.PARAMETER X86Exe
  gtalloc built for x86. Default: .\bin\x86\gtalloc.exe next to this script.
.PARAMETER Build
  Build both executables first with MSVC (found with vswhere) into .\bin.
.PARAMETER OutDir
  Where the run folder and the zip go. Default: .\out next to this script.
.PARAMETER Scale
  Passed to gtalloc --scale (1..100). Default 1.
.PARAMETER Arch
  Subset of x64, x86. Default both.
.PARAMETER Heap
  Subset of nt, segment. Default both.
.PARAMETER Flags
  Subset of none, ust, hpa, ust+hpa. Default all four.
.PARAMETER TimeoutSeconds
  Longest one run may take before it is killed. Default 300.

.EXAMPLE
  .\run-groundtruth.ps1 -Build
.EXAMPLE
  .\run-groundtruth.ps1 -Arch x64 -Heap nt -Flags none,ust -Scale 4
#>
[CmdletBinding()]
param(
  [string]$X64Exe = (Join-Path $PSScriptRoot 'bin\x64\gtalloc.exe'),
  [string]$X86Exe = (Join-Path $PSScriptRoot 'bin\x86\gtalloc.exe'),
  [switch]$Build,
  [string]$OutDir = (Join-Path $PSScriptRoot 'out'),
  [ValidateRange(1, 100)][int]$Scale = 1,
  [ValidateSet('x64', 'x86')][string[]]$Arch = @('x64', 'x86'),
  [ValidateSet('nt', 'segment')][string[]]$Heap = @('nt', 'segment'),
  [ValidateSet('none', 'ust', 'hpa', 'ust+hpa')][string[]]$Flags = @('none', 'ust', 'hpa', 'ust+hpa'),
  [ValidateRange(10, 3600)][int]$TimeoutSeconds = 300
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

$IfeoRoots = @(
  'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options',
  'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows NT\CurrentVersion\Image File Execution Options'
)
$FlagValues = @{ 'none' = 0; 'ust' = 0x1000; 'hpa' = 0x02000000; 'ust+hpa' = 0x02001000 }
$ManagedValues = @('GlobalFlag', 'PageHeapFlags', 'FrontEndHeapDebugOptions')

function Test-Admin {
  $id = [Security.Principal.WindowsIdentity]::GetCurrent()
  return ([Security.Principal.WindowsPrincipal]$id).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
}

function Invoke-MsvcBuild {
  $vswhere = Join-Path ${env:ProgramFiles(x86)} 'Microsoft Visual Studio\Installer\vswhere.exe'
  if (-not (Test-Path $vswhere)) { throw 'vswhere.exe not found: install Visual Studio (C++ workload) or build gtalloc yourself (README.md).' }
  $vs = & $vswhere -latest -products * -requires Microsoft.VisualStudio.Component.VC.Tools.x86.x64 -property installationPath
  if (-not $vs) { throw 'No Visual Studio with the C++ x86/x64 tools found.' }
  $vcvars = Join-Path $vs 'VC\Auxiliary\Build\vcvarsall.bat'
  $src = Join-Path $PSScriptRoot 'gtalloc.cpp'
  foreach ($a in @(@{ name = 'x64'; vc = 'x64' }, @{ name = 'x86'; vc = 'x64_x86' })) {
    $dir = Join-Path $PSScriptRoot ('bin\' + $a.name)
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    # /Zi + /DEBUG: a PDB beside the exe, so stacks can be symbolized; /OPT:NOICF keeps every allocation site distinct
    $cmd = "`"$vcvars`" $($a.vc) >nul && cl /nologo /O2 /Zi /GS- /EHs-c- /MD `"$src`" /Fo`"$dir\\`" /Fd`"$dir\\`" /Fe`"$dir\gtalloc.exe`" /link /DEBUG /OPT:REF /OPT:NOICF dbghelp.lib"
    & cmd.exe /c $cmd
    if ($LASTEXITCODE -ne 0) { throw "MSVC build for $($a.name) failed ($LASTEXITCODE)" }
  }
}

# Remember a value (or its absence) so it can be put back exactly.
function Save-IfeoState([string]$exeName) {
  $state = @()
  foreach ($root in $IfeoRoots) {
    if (-not (Test-Path $root)) { continue }
    $key = Join-Path $root $exeName
    $existed = Test-Path $key
    $values = @{}
    if ($existed) {
      $props = Get-ItemProperty -Path $key
      foreach ($name in $ManagedValues) {
        if ($props.PSObject.Properties.Name -contains $name) { $values[$name] = $props.$name }
      }
    }
    $state += [pscustomobject]@{ Key = $key; Existed = $existed; Values = $values }
  }
  return , $state
}

function Restore-IfeoState($state) {
  foreach ($s in $state) {
    try {
      if (-not $s.Existed) {
        if (Test-Path $s.Key) { Remove-Item -Path $s.Key -Recurse -Force }
        continue
      }
      foreach ($name in $ManagedValues) {
        if ($s.Values.ContainsKey($name)) {
          Set-ItemProperty -Path $s.Key -Name $name -Value $s.Values[$name] -Type DWord
        } elseif ((Get-ItemProperty -Path $s.Key).PSObject.Properties.Name -contains $name) {
          Remove-ItemProperty -Path $s.Key -Name $name
        }
      }
    } catch {
      Write-Warning "Could not restore $($s.Key): $($_.Exception.Message). Remove its values $($ManagedValues -join ', ') by hand."
    }
  }
}

function Set-IfeoValues([string]$exeName, [int]$globalFlag, [bool]$segment) {
  foreach ($root in $IfeoRoots) {
    if (-not (Test-Path $root)) { continue }
    $key = Join-Path $root $exeName
    if (-not (Test-Path $key)) { New-Item -Path $key -Force | Out-Null }
    foreach ($name in $ManagedValues) {
      if ((Get-ItemProperty -Path $key).PSObject.Properties.Name -contains $name) { Remove-ItemProperty -Path $key -Name $name }
    }
    if ($globalFlag -ne 0) { Set-ItemProperty -Path $key -Name GlobalFlag -Value $globalFlag -Type DWord }
    if (($globalFlag -band 0x02000000) -ne 0) { Set-ItemProperty -Path $key -Name PageHeapFlags -Value 3 -Type DWord }
    if ($segment) { Set-ItemProperty -Path $key -Name FrontEndHeapDebugOptions -Value 8 -Type DWord }
  }
}

# ---- main ------------------------------------------------------------------------------------
if (-not (Test-Admin)) { throw 'Run this script from an elevated PowerShell: it sets Image File Execution Options under HKLM.' }
if ($Build) { Invoke-MsvcBuild }

$stamp = (Get-Date).ToUniversalTime().ToString('yyyyMMdd-HHmmss')
$runDir = Join-Path $OutDir ('groundtruth-' + $stamp)
New-Item -ItemType Directory -Force -Path $runDir | Out-Null

$exes = @{}
foreach ($a in $Arch) {
  $src = if ($a -eq 'x64') { $X64Exe } else { $X86Exe }
  if (-not (Test-Path $src)) { throw "gtalloc for $a not found at $src (build it, or pass -Build)" }
  $name = if ($a -eq 'x64') { 'gtalloc64.exe' } else { 'gtalloc32.exe' }
  $dst = Join-Path $runDir $name
  Copy-Item -Path $src -Destination $dst
  $pdb = [IO.Path]::ChangeExtension($src, '.pdb')
  if (Test-Path $pdb) { Copy-Item -Path $pdb -Destination ([IO.Path]::ChangeExtension($dst, '.pdb')) }
  $exes[$a] = $dst
}
if ($Arch -contains 'x64' -and -not [Environment]::Is64BitOperatingSystem) { throw 'x64 runs need 64-bit Windows.' }

$os = [Environment]::OSVersion.Version
$results = @()
foreach ($a in $Arch) {
  $exe = $exes[$a]
  $exeName = Split-Path $exe -Leaf
  $saved = Save-IfeoState $exeName
  try {
    foreach ($h in $Heap) {
      foreach ($f in $Flags) {
        $label = "$a-$h-$($f -replace '\+', '-')"
        Set-IfeoValues $exeName $FlagValues[$f] ($h -eq 'segment')
        Write-Host "[$label] running $exeName --scale $Scale"
        $argsList = @('--out', "`"$runDir`"", '--label', $label, '--scale', "$Scale")
        $p = Start-Process -FilePath $exe -ArgumentList $argsList -WorkingDirectory $runDir -NoNewWindow -PassThru
        $null = $p.Handle  # cache the handle, or ExitCode can read back as null after the exit
        $finished = $p.WaitForExit($TimeoutSeconds * 1000)
        if (-not $finished) {
          Stop-Process -Id $p.Id -Force
          Write-Warning "[$label] timed out after $TimeoutSeconds s and was stopped"
        }
        $code = if ($finished) { $p.ExitCode } else { -1 }
        $manifest = Join-Path $runDir "$label.json"
        $dump = Join-Path $runDir "$label.dmp"
        $results += [pscustomobject]@{
          label = $label; arch = $a; heap = $h; flags = $f; globalFlag = $FlagValues[$f]; exitCode = $code
          manifest = (Test-Path $manifest); dump = (Test-Path $dump)
          dumpBytes = $(if (Test-Path $dump) { (Get-Item $dump).Length } else { 0 })
        }
        if ($code -ne 0) { Write-Warning "[$label] gtalloc exited with $code" }
      }
    }
  } finally {
    # every path: success, error, Ctrl+C
    Restore-IfeoState $saved
  }
}

$index = [pscustomobject]@{
  tool = 'run-groundtruth.ps1'
  createdUtc = $stamp
  windows = "$($os.Major).$($os.Minor).$($os.Build)"
  machine = $env:PROCESSOR_ARCHITECTURE
  scale = $Scale
  runs = $results
}
$index | ConvertTo-Json -Depth 5 | Set-Content -Path (Join-Path $runDir 'runs.json') -Encoding UTF8

$zip = "$runDir.zip"
$files = Get-ChildItem -Path $runDir -File | Where-Object { $_.Extension -in '.json', '.dmp', '.pdb', '.exe' }
Compress-Archive -Path $files.FullName -DestinationPath $zip -Force
$failed = @($results | Where-Object { $_.exitCode -ne 0 -or -not $_.manifest }).Count
Write-Host "Done: $($results.Count) runs, $failed failed. Folder: $runDir  Zip: $zip"
if ($failed -gt 0) { exit 1 }
