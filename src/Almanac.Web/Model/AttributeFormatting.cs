using System.Globalization;
using System.Text;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;

namespace Almanac.Web.Model;

/// <summary>An attribute as the UI shows it: key, value as text, and its OTLP value type.</summary>
public sealed record AttributeRow(string Key, string Value, string Type);

public static class AttributeFormatting
{
    public static IReadOnlyList<AttributeRow> Rows(IEnumerable<KeyValue> attributes) =>
        [.. attributes.Select(kv => new AttributeRow(kv.Key, Text(kv.Value), TypeName(kv.Value)))];

    public static string TypeName(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => "string",
        AnyValue.ValueOneofCase.BoolValue => "bool",
        AnyValue.ValueOneofCase.IntValue => "int",
        AnyValue.ValueOneofCase.DoubleValue => "double",
        AnyValue.ValueOneofCase.ArrayValue => "array",
        AnyValue.ValueOneofCase.KvlistValue => "map",
        AnyValue.ValueOneofCase.BytesValue => "bytes",
        _ => "empty",
    };

    public static string Text(AnyValue? value)
    {
        var sb = new StringBuilder();
        Append(sb, value, topLevel: true);
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, AnyValue? value, bool topLevel)
    {
        switch (value?.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                if (topLevel)
                {
                    sb.Append(value.StringValue);
                }
                else
                {
                    sb.Append('"').Append(value.StringValue.Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
                }

                break;
            case AnyValue.ValueOneofCase.BoolValue:
                sb.Append(value.BoolValue ? "true" : "false");
                break;
            case AnyValue.ValueOneofCase.IntValue:
                sb.Append(value.IntValue.ToString(CultureInfo.InvariantCulture));
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                sb.Append(value.DoubleValue.ToString("R", CultureInfo.InvariantCulture));
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                sb.Append(Convert.ToBase64String(value.BytesValue.Span));
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                sb.Append('[');
                for (var i = 0; i < value.ArrayValue.Values.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    Append(sb, value.ArrayValue.Values[i], topLevel: false);
                }

                sb.Append(']');
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                sb.Append('{');
                for (var i = 0; i < value.KvlistValue.Values.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    sb.Append(value.KvlistValue.Values[i].Key).Append(": ");
                    Append(sb, value.KvlistValue.Values[i].Value, topLevel: false);
                }

                sb.Append('}');
                break;
            default:
                break;
        }
    }

    public static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);
}
