namespace Nabla.Tests.Nn;

public static partial class LayerExamples
{
    // The vision applications: segmentation and detection add their models' examples in files of their own.
    static partial void AddVision(Dictionary<string, LayerExample> t)
    {
        AddSegmentation(t);
        AddDetection(t);
    }

    static partial void AddSegmentation(Dictionary<string, LayerExample> t);
    static partial void AddDetection(Dictionary<string, LayerExample> t);
}
