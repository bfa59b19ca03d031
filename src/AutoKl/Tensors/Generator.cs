using MathNet.Numerics.Random;

namespace AutoKl;

/// <summary>
/// A seeded source of random numbers (Mersenne Twister from MathNet.Numerics): the same seed
/// gives the same tensors on every machine and run.
/// </summary>
public sealed class Generator
{
    private readonly MersenneTwister _random;

    /// <summary>A generator started from <paramref name="seed"/>.</summary>
    public Generator(int seed)
    {
        Seed = seed;
        _random = new MersenneTwister(seed, threadSafe: true);
    }

    /// <summary>The seed this generator started from.</summary>
    public int Seed { get; }

    /// <summary>The generator used when none is passed; reseed it with <see cref="ManualSeed"/>.</summary>
    public static Generator Default { get; private set; } = new(0);

    /// <summary>Replaces <see cref="Default"/> with a generator seeded by <paramref name="seed"/> (torch.manual_seed).</summary>
    public static void ManualSeed(int seed) => Default = new Generator(seed);

    /// <summary>A uniform draw from [0, 1).</summary>
    public double NextUniform() => _random.NextDouble();

    /// <summary>A standard normal draw (Box-Muller on two uniform draws).</summary>
    public double NextNormal()
    {
        double u1 = 1.0 - _random.NextDouble(); // in (0, 1], so the log is finite
        double u2 = _random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int maxExclusive) => _random.Next(maxExclusive);
}
