/// The font every picture is drawn with. ScottPlot asks the system for fonts by name and, where
/// there are none (an empty /usr/share/fonts, a slim container), draws no text at all and raises
/// no error. DejaVu Sans ships beside this assembly (fonts/, with its licence) and is registered
/// before the first chart is made, so a picture carries its text on every machine.
module AutoKl.Plots.Fonts

open System
open System.IO

/// The family name the shipped files are registered under.
[<Literal>]
let Family = "DejaVu Sans"

type private Anchor = class end

/// The folder holding the shipped font files: fonts/ beside this assembly (or beside the app
/// when the assembly has no file of its own, as in a single-file bundle).
let folder =
    let location = typeof<Anchor>.Assembly.Location
    let baseDir = if String.IsNullOrEmpty location then AppContext.BaseDirectory else Path.GetDirectoryName location
    Path.Combine(baseDir, "fonts")

let private registration =
    lazy
        (for file, bold in [ "DejaVuSans.ttf", false; "DejaVuSans-Bold.ttf", true ] do
            let path = Path.Combine(folder, file)
            if not (File.Exists path) then
                raise (FileNotFoundException(sprintf "the font file %s is missing: pictures would have no text (reinstall the tool)" path, path))
            ScottPlot.Fonts.AddFontFile(Family, path, bold, false)
            // ScottPlot asks its resolvers in order and the system's comes first; it could answer
            // "DejaVu Sans" with a fallback face (or none) where the font is not installed.
            let resolvers = ScottPlot.Fonts.FontResolvers
            let added = resolvers[resolvers.Count - 1]
            resolvers.RemoveAt(resolvers.Count - 1)
            resolvers.Insert(0, added)
         ScottPlot.Fonts.Default <- Family
         ScottPlot.Fonts.Sans <- Family)

/// Registers the shipped fonts with ScottPlot (once per process; later calls do nothing).
let register () = registration.Force()
