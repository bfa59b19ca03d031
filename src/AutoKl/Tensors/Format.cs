using System.Globalization;
using System.Text;

namespace AutoKl;

public sealed partial class Tensor
{
    /// <summary>PyTorch-like text: values (abbreviated past 1000 elements; none once released by a <see cref="TensorScope"/>), dtype, and the op that made it.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("tensor(");
        if (IsReleased) sb.Append($"<released by its scope, shape {Shapes.Format(_shape)}>");
        else if (Numel > 1000) sb.Append($"<{Numel} values, shape {Shapes.Format(_shape)}>");
        else
        {
            int pos = 0;
            Append(sb, 0, ref pos);
        }
        if (DType != DType.Float32) sb.Append($", dtype={DType.Name()}");
        if (GradFn is not null) sb.Append($", grad_fn=<{GradFn.Op}>");
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    private void Append(StringBuilder sb, int dim, ref int pos)
    {
        if (dim == Rank)
        {
            double v = GetFlat(pos++);
            sb.Append(DType == DType.Int64 ? ((long)v).ToString(CultureInfo.InvariantCulture) : v.ToString("G6", CultureInfo.InvariantCulture));
            return;
        }
        sb.Append('[');
        for (int i = 0; i < _shape[dim]; i++)
        {
            if (i > 0) sb.Append(", ");
            Append(sb, dim + 1, ref pos);
        }
        sb.Append(']');
    }
}
