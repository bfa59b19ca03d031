namespace AutoKl.Testing

open AutoKl
open Expecto
open FsCheck
open FsCheck.FSharp

/// <summary>
/// Expecto tests that run gradcheck over generated inputs: one call turns a function and an
/// arbitrary into a property. On failure Expecto prints the input FsCheck shrank to and the
/// gradcheck report for it (under "Label of failing property").
/// </summary>
/// <example><code>testGradcheck "softplus" (Arbitraries.Tensors(-5.0, 5.0)) (fun s -> [| s.Tensor |]) (fun xs -> softplus xs.[0] |> Tensor.sum)</code></example>
[<AutoOpen>]
module ExpectoGradients =
    /// FsCheck settings for gradient properties: 50 cases (each runs a gradient check).
    let gradConfig : FsCheckConfig = { FsCheckConfig.defaultConfig with maxTest = 50 }

    let private labelled (r: GradCheckResult) = r.Passed |> Prop.label ("\n" + r.Report)

    /// The FsCheck property behind `testGradcheck`: for every sample, gradcheck `f` at `inputs sample`.
    let gradProperty (options: GradCheckOptions) (arb: Arbitrary<'T>) (inputs: 'T -> Tensor[]) (f: Tensor[] -> Tensor) : Property =
        Prop.forAll arb (fun sample -> labelled (gradcheckResult options f (inputs sample)))

    /// The FsCheck property behind `testGradgradcheck`: second derivatives for every sample.
    let gradgradProperty (options: GradCheckOptions) (arb: Arbitrary<'T>) (inputs: 'T -> Tensor[]) (f: Tensor[] -> Tensor) : Property =
        Prop.forAll arb (fun sample -> labelled (gradgradcheckResult options f (inputs sample)))

    /// An Expecto test checking the gradients of `f` at the inputs made from each generated sample.
    let testGradcheckWith (config: FsCheckConfig) (options: GradCheckOptions) (name: string) (arb: Arbitrary<'T>) (inputs: 'T -> Tensor[]) (f: Tensor[] -> Tensor) : Test =
        testPropertyWithConfig config name (gradProperty options arb inputs f)

    /// `testGradcheckWith gradConfig (GradCheckOptions())`: PyTorch's tolerances, 50 cases.
    let testGradcheck (name: string) (arb: Arbitrary<'T>) (inputs: 'T -> Tensor[]) (f: Tensor[] -> Tensor) : Test =
        testGradcheckWith gradConfig (GradCheckOptions()) name arb inputs f

    /// An Expecto test checking the second derivatives of `f` at each generated sample.
    let testGradgradcheckWith (config: FsCheckConfig) (options: GradCheckOptions) (name: string) (arb: Arbitrary<'T>) (inputs: 'T -> Tensor[]) (f: Tensor[] -> Tensor) : Test =
        testPropertyWithConfig config name (gradgradProperty options arb inputs f)

    /// `testGradgradcheckWith gradConfig (GradCheckOptions())`.
    let testGradgradcheck (name: string) (arb: Arbitrary<'T>) (inputs: 'T -> Tensor[]) (f: Tensor[] -> Tensor) : Test =
        testGradgradcheckWith gradConfig (GradCheckOptions()) name arb inputs f
