/// The command line, declared with Argu: `autokl fit [options]` and `autokl kl [options]`.
/// Every value arrives as text and is parsed and validated in Program (numbers in invariant
/// notation only: Argu's own number parsing reads "0,001" as 1), so every error is one line that
/// names the option and the text given.
module AutoKl.Cli.Arguments

open Argu

/// The options of `autokl fit`.
type FitArgs =
    | [<AltCommandLine("-c")>] Component of spec: string
    | Grid_Min of x: string
    | Grid_Max of x: string
    | Grid_Size of points: string
    | [<AltCommandLine("-l")>] Loss of name: string
    | Reduction of name: string
    | [<AltCommandLine("-o")>] Optimizer of name: string
    | Lr of rate: string
    | Beta1 of beta: string
    | Beta2 of beta: string
    | Eps of eps: string
    | Eps_Placement of placement: string
    | Weight_Decay of decay: string
    | Amsgrad
    | Momentum of momentum: string
    | Dampening of dampening: string
    | Nesterov
    | Maximize
    | [<AltCommandLine("-n")>] Steps of count: string
    | Mu of mu: string
    | Sigma of sigma: string
    | Dtype of dtype: string
    | Seed of seed: string
    | Random_Start
    | Report_Every of steps: string
    | [<AltCommandLine("-q")>] Quiet
    | Json
    | Out of folder: string
    | Format of format: string
    | Compare of losses: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Component _ -> "a target component MU,SIGMA[,WEIGHT]; repeat for a mixture (default: -5,1 and 10,1). The target is the SUM of the component densities."
            | Grid_Min _ -> "left end of the grid (default -15)."
            | Grid_Max _ -> "right end of the grid (default 15)."
            | Grid_Size _ -> "number of grid points (default 1000)."
            | Loss _ -> "kl (default), reverse-kl, mse, l1, cosine, js or wasserstein."
            | Reduction _ -> "reduction of kl, mse and l1: mean (default, PyTorch's), sum or batchmean."
            | Optimizer _ -> "adam (default), adamw or sgd."
            | Lr _ -> "learning rate (default 0.001)."
            | Beta1 _ -> "Adam/AdamW beta1 (default 0.9)."
            | Beta2 _ -> "Adam/AdamW beta2 (default 0.999)."
            | Eps _ -> "Adam/AdamW epsilon (default 1e-8)."
            | Eps_Placement _ -> "where Adam adds epsilon: pytorch (default; after bias correction) or kingma-ba (epsilon-hat: TensorFlow, MXNet, PyTorch < 1.3)."
            | Weight_Decay _ -> "weight decay (default 0; AdamW 0.01)."
            | Amsgrad -> "Adam/AdamW: use the AMSGrad maximum of the second moment."
            | Momentum _ -> "SGD momentum (default 0)."
            | Dampening _ -> "SGD dampening (default 0)."
            | Nesterov -> "SGD: Nesterov momentum (needs --momentum > 0 and no dampening)."
            | Maximize -> "maximise the loss instead of minimising it."
            | Steps _ -> "number of optimizer steps (default 10000)."
            | Mu _ -> "initial mu (default 0)."
            | Sigma _ -> "initial sigma, > 0 (default 1)."
            | Dtype _ -> "float32 (default) or float64."
            | Seed _ -> "seed of the random start (default 0)."
            | Random_Start -> "draw the initial mu uniformly over the grid and sigma in [0.5, 3] from --seed."
            | Report_Every _ -> "print a table row every this many steps (default 1000)."
            | Quiet -> "no progress bar and no table: only the final values."
            | Json -> "print one JSON document (settings, rows, final values, times) instead of the table."
            | Out _ -> "write loss.png, trajectory.png, final.png, animation.gif and rows.csv into this folder."
            | Format _ -> "picture format for --out: png (default), svg or both (the animation is always a GIF)."
            | Compare _ -> "comma-separated losses (e.g. kl,reverse-kl,mse,cosine) fitted from the same start; --out draws their final Q in compare.png and their loss curves in compare-loss.png."

/// The options of `autokl kl`.
type KlArgs =
    | P of probabilities: string
    | Q of probabilities: string
    | P_File of path: string
    | Q_File of path: string
    | From_Logits
    | Json
    | Out of folder: string
    | Format of format: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | P _ -> "P as a comma-separated list, e.g. 0.2,0.5,0.2,0.1 (default)."
            | Q _ -> "Q as a comma-separated list; repeat to compare several (default: 0.3,0.4,0.1,0.2 and 0.1,0.1,0.1,0.7)."
            | P_File _ -> "read P from a file (numbers separated by commas, spaces or newlines; # starts a comment)."
            | Q_File _ -> "read a Q from a file; repeatable."
            | From_Logits -> "the numbers are raw scores (logits): P and Q are their softmax."
            | Json -> "print one JSON document instead of the report."
            | Out _ -> "write distributions.png, terms.png, conventions.png and kl.csv into this folder."
            | Format _ -> "picture format for --out: png (default), svg or both."

/// The subcommands.
[<RequireSubcommand>]
type Command =
    | [<CliPrefix(CliPrefix.None)>] Fit of ParseResults<FitArgs>
    | [<CliPrefix(CliPrefix.None)>] Kl of ParseResults<KlArgs>

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Fit _ -> "fit Q = Normal(mu, sigma) to a mixture target on a grid by gradient descent and show how the loss changes the answer."
            | Kl _ -> "KL(P||Q), KL(Q||P), JS and what PyTorch and MXNet return for categorical P and Q."

/// The parser; `autokl` is the program name shown in usage.
let parser = ArgumentParser.Create<Command>(programName = "autokl")
