namespace Nabla.Nn;

public static partial class LayerRegistry
{
    // The vision applications: segmentation and detection register their models in files of their own.
    static partial void RegisterVision()
    {
        RegisterSegmentation();
        RegisterDetection();
    }

    static partial void RegisterSegmentation();
    static partial void RegisterDetection();
}
