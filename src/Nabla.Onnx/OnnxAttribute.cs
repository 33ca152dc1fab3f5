using Google.Protobuf;
using Proto = global::Onnx;

namespace Nabla.Onnx;

/// <summary>An attribute of an ONNX node (e.g. <c>axis</c> of Softmax, <c>alpha</c> of LeakyRelu).</summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(Proto.AttributeProto proto) => ProtoValue = proto;

    internal Proto.AttributeProto ProtoValue { get; }

    /// <summary>The attribute's name.</summary>
    public string Name => ProtoValue.Name;

    /// <summary>An integer attribute.</summary>
    public static OnnxAttribute Int(string name, long value) =>
        new(new Proto.AttributeProto { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Int, I = value });

    /// <summary>A float attribute.</summary>
    public static OnnxAttribute Float(string name, float value) =>
        new(new Proto.AttributeProto { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Float, F = value });

    /// <summary>A string attribute.</summary>
    public static OnnxAttribute String(string name, string value) =>
        new(new Proto.AttributeProto { Name = name, Type = Proto.AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) });

    /// <summary>A list-of-integers attribute.</summary>
    public static OnnxAttribute Ints(string name, params long[] values)
    {
        var a = new Proto.AttributeProto { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return new(a);
    }

    /// <summary>A list-of-integers attribute.</summary>
    public static OnnxAttribute Ints(string name, IEnumerable<int> values) => Ints(name, values.Select(v => (long)v).ToArray());

    /// <summary>A list-of-floats attribute.</summary>
    public static OnnxAttribute Floats(string name, params float[] values)
    {
        var a = new Proto.AttributeProto { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Floats };
        a.Floats.AddRange(values);
        return new(a);
    }

    /// <summary>A list-of-strings attribute.</summary>
    public static OnnxAttribute Strings(string name, params string[] values)
    {
        var a = new Proto.AttributeProto { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Strings };
        a.Strings.AddRange(values.Select(ByteString.CopyFromUtf8));
        return new(a);
    }
}
