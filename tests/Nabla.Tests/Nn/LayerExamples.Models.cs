namespace Nabla.Tests.Nn;

public static partial class LayerExamples
{
    // The zoo: each family adds its models' examples in a method of its own file.
    static partial void AddModels(Dictionary<string, LayerExample> t)
    {
        AddConvModels(t);
        AddReaderModels(t);
    }

    static partial void AddReaderModels(Dictionary<string, LayerExample> t);
}
