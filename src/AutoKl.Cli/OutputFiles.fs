/// Writing the output folder safely: the folder is checked before any work starts, and files
/// are written under temporary names and renamed only when all of them were written, so a
/// failing run leaves no half-written or partial set of files behind.
module AutoKl.Cli.OutputFiles

open System
open System.IO
open AutoKl.Cli.Input

/// Fails (one line) unless `folder` is, or can be created as, a writable folder. Creates
/// nothing that stays: a probe file is written and deleted in the nearest existing folder.
let checkWritable (folder: string) =
    if String.IsNullOrWhiteSpace folder then fail "--out: the output folder name is empty"
    let full =
        try Path.GetFullPath folder
        with e -> fail "--out: '%s' is not a valid folder name: %s" folder (firstLine e.Message)
    if File.Exists full then fail "--out: '%s' is a file, not a folder" folder
    // The nearest ancestor that exists must be a folder we can write into.
    let rec existing (path: string) =
        if Directory.Exists path then path
        elif File.Exists path then fail "--out: cannot create folder '%s': '%s' is a file" folder path
        else
            match Path.GetDirectoryName path with
            | null -> fail "--out: cannot create folder '%s'" folder
            | parent -> existing parent
    let anchor = existing full
    let probe = Path.Combine(anchor, sprintf ".autokl-probe-%s" (Guid.NewGuid().ToString("N")))
    try
        File.WriteAllText(probe, "")
        File.Delete probe
    with e -> fail "--out: cannot write to folder '%s': %s" anchor (firstLine e.Message)

/// Removes temporary files of `name` left in `folder` by a run that was killed while writing
/// (".NAME.<32 hex digits>.tmp"); a run in progress on the same folder at the same time would
/// lose its temporary file and fail with a clear error.
let removeStale (folder: string) (name: string) =
    if Directory.Exists folder then
        for path in Directory.EnumerateFiles(folder, "." + name + ".*.tmp") do
            let middle = Path.GetFileName(path).Substring(name.Length + 2)
            let guid = middle.Substring(0, middle.Length - 4)
            if guid.Length = 32 && guid |> Seq.forall Uri.IsHexDigit then
                try File.Delete path with _ -> ()

/// Writes every (file name, bytes) into `folder`: all to temporary names first, then renamed
/// over the final names, so no file is ever half-written. If a write fails, the temporary files
/// are removed, earlier files stay untouched, and the error is reported as one line; a rename
/// failing part-way (after every file was written in full) can leave a mix of old and new files.
let writeAll (folder: string) (files: (string * byte[]) list) =
    // A final name taken by a folder would make a rename fail half-way: refuse before writing.
    for name, _ in files do
        if Directory.Exists(Path.Combine(folder, name)) then
            fail "--out: cannot write '%s': a folder of that name exists in '%s'" name folder
    let written = ResizeArray<string * string>()
    try
        Directory.CreateDirectory folder |> ignore
        for name, _ in files do removeStale folder name
        for name, content in files do
            let final = Path.Combine(folder, name)
            let temp = Path.Combine(folder, sprintf ".%s.%s.tmp" name (Guid.NewGuid().ToString("N")))
            written.Add((temp, final))
            File.WriteAllBytes(temp, content)
        for temp, final in written do
            File.Move(temp, final, true)
    with e ->
        for temp, _ in written do
            try if File.Exists temp then File.Delete temp with _ -> ()
        fail "--out: cannot write to folder '%s': %s" folder (firstLine e.Message)
    files |> List.map (fun (name, _) -> Path.Combine(folder, name))
