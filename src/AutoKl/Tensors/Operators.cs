namespace AutoKl;

// Operators, with explicit overloads for double, float and int on both sides because F# does
// not apply implicit conversions when it resolves operators (TorchSharp issue 1073). The static
// members Log, Exp, Sqrt, Abs, Sin, Cos, Tan, Tanh, Floor, Ceiling, Round, Pow, One, Zero and the
// explicit conversions are what F#'s log, exp, sqrt, abs, ..., **, pown, float and float32 look for.
public sealed partial class Tensor
{
    /// <summary>a + b.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);
    /// <summary>a + b.</summary>
    public static Tensor operator +(Tensor a, double b) => Add(a, a.Const(b));
    /// <summary>a + b.</summary>
    public static Tensor operator +(double a, Tensor b) => Add(b.Const(a), b);
    /// <summary>a + b.</summary>
    public static Tensor operator +(Tensor a, float b) => Add(a, a.Const(b));
    /// <summary>a + b.</summary>
    public static Tensor operator +(float a, Tensor b) => Add(b.Const(a), b);
    /// <summary>a + b.</summary>
    public static Tensor operator +(Tensor a, int b) => Add(a, a.Const(b));
    /// <summary>a + b.</summary>
    public static Tensor operator +(int a, Tensor b) => Add(b.Const(a), b);

    /// <summary>a - b.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Sub(a, b);
    /// <summary>a - b.</summary>
    public static Tensor operator -(Tensor a, double b) => Sub(a, a.Const(b));
    /// <summary>a - b.</summary>
    public static Tensor operator -(double a, Tensor b) => Sub(b.Const(a), b);
    /// <summary>a - b.</summary>
    public static Tensor operator -(Tensor a, float b) => Sub(a, a.Const(b));
    /// <summary>a - b.</summary>
    public static Tensor operator -(float a, Tensor b) => Sub(b.Const(a), b);
    /// <summary>a - b.</summary>
    public static Tensor operator -(Tensor a, int b) => Sub(a, a.Const(b));
    /// <summary>a - b.</summary>
    public static Tensor operator -(int a, Tensor b) => Sub(b.Const(a), b);

    /// <summary>a * b elementwise.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Mul(a, b);
    /// <summary>a * b.</summary>
    public static Tensor operator *(Tensor a, double b) => Mul(a, a.Const(b));
    /// <summary>a * b.</summary>
    public static Tensor operator *(double a, Tensor b) => Mul(b.Const(a), b);
    /// <summary>a * b.</summary>
    public static Tensor operator *(Tensor a, float b) => Mul(a, a.Const(b));
    /// <summary>a * b.</summary>
    public static Tensor operator *(float a, Tensor b) => Mul(b.Const(a), b);
    /// <summary>a * b.</summary>
    public static Tensor operator *(Tensor a, int b) => Mul(a, a.Const(b));
    /// <summary>a * b.</summary>
    public static Tensor operator *(int a, Tensor b) => Mul(b.Const(a), b);

    /// <summary>a / b elementwise.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Div(a, b);
    /// <summary>a / b.</summary>
    public static Tensor operator /(Tensor a, double b) => Div(a, a.Const(b));
    /// <summary>a / b.</summary>
    public static Tensor operator /(double a, Tensor b) => Div(b.Const(a), b);
    /// <summary>a / b.</summary>
    public static Tensor operator /(Tensor a, float b) => Div(a, a.Const(b));
    /// <summary>a / b.</summary>
    public static Tensor operator /(float a, Tensor b) => Div(b.Const(a), b);
    /// <summary>a / b.</summary>
    public static Tensor operator /(Tensor a, int b) => Div(a, a.Const(b));
    /// <summary>a / b.</summary>
    public static Tensor operator /(int a, Tensor b) => Div(b.Const(a), b);

    /// <summary>-x.</summary>
    public static Tensor operator -(Tensor x) => Neg(x);
    /// <summary>x itself.</summary>
    public static Tensor operator +(Tensor x) => x;

    /// <summary>x raised to an integer power (F#: <c>x ** 2</c>).</summary>
    public static Tensor Pow(Tensor x, int exponent) => Pow(x, (double)exponent);
    /// <summary>x raised to a float power (F#: <c>x ** 2.0f</c>).</summary>
    public static Tensor Pow(Tensor x, float exponent) => Pow(x, (double)exponent);

    /// <summary>The value of a one-element tensor (F#: <c>float t</c>).</summary>
    public static explicit operator double(Tensor x) => x.ToScalar();
    /// <summary>The value of a one-element tensor (F#: <c>float32 t</c>).</summary>
    public static explicit operator float(Tensor x) => (float)x.ToScalar();

    /// <summary>
    /// The scalar 1, which takes the dtype of whatever it is combined with (like a number in
    /// PyTorch), so F#'s <c>pown</c> keeps float32 float32.
    /// </summary>
    public static Tensor One => Scalar(1.0).AsNumber();
    /// <summary>
    /// The scalar 0, which takes the dtype of whatever it is combined with (like a number in
    /// PyTorch), so F#'s <c>Seq.sum</c> of float32 losses stays float32.
    /// </summary>
    public static Tensor Zero => Scalar(0.0).AsNumber();

    /// <summary>x / n (F#: <c>List.average</c>, <c>Seq.average</c>).</summary>
    public static Tensor DivideByInt(Tensor x, int n) => x / n;

    /// <summary>Matrix product (<see cref="MatMul(Tensor, Tensor)"/>).</summary>
    public Tensor MatMul(Tensor other) => MatMul(this, other);
}
