namespace AutoKl;

/// <summary>
/// How a loss turns its elementwise values into its result (PyTorch's <c>reduction</c>).
/// </summary>
public enum Reduction
{
    /// <summary>No reduction: one value per element (per sample for losses that sum over classes).</summary>
    None,
    /// <summary>
    /// Sum divided by the number of elements. For <see cref="Losses.KlDiv"/> this divides by every
    /// element, categories included, so the result is the textbook KL divided by the number of
    /// categories (PyTorch's <c>reduction='mean'</c>, kept for parity; see <see cref="BatchMean"/>).
    /// </summary>
    Mean,
    /// <summary>Sum of all elements.</summary>
    Sum,
    /// <summary>
    /// Sum divided by the size of the first (batch) dimension: for <see cref="Losses.KlDiv"/> the
    /// textbook KL per sample, averaged over the batch (PyTorch's <c>reduction='batchmean'</c>).
    /// </summary>
    BatchMean,
}

/// <summary>
/// How MXNet Gluon's <c>KLDivLoss</c> reduces the non-batch axes to one value per sample; the
/// choice changed between MXNet versions.
/// </summary>
public enum MXNetAveraging
{
    /// <summary>Mean over the non-batch axes: MXNet 1.x up to 1.8, and 2.x.</summary>
    Mean,
    /// <summary>Sum over the non-batch axes: MXNet 1.9 (the textbook KL per sample).</summary>
    Sum,
}
