using System.Globalization;
using System.Text;
using System.Text.Json;
using Almanac.Core.Storage;
using OpenTelemetry.Proto.Common.V1;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// The text form attribute filters compare against (see <see cref="TraceQuery"/>): a search for "200" must find an
/// int 200, so every value type gets one canonical, culture-independent spelling.
/// </summary>
internal static class AttributeText
{
    public static string Of(AnyValue? value) => value?.ValueCase switch
    {
        null or AnyValue.ValueOneofCase.None => string.Empty,
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString("R", CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        // OTLP/JSON carries bytes as base64, so that is the spelling a user would copy from a UI.
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value.BytesValue.Span),
        _ => ToJson(value),
    };

    public static AttributeValueType TypeOf(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => AttributeValueType.String,
        AnyValue.ValueOneofCase.BoolValue => AttributeValueType.Bool,
        AnyValue.ValueOneofCase.IntValue => AttributeValueType.Int,
        AnyValue.ValueOneofCase.DoubleValue => AttributeValueType.Double,
        AnyValue.ValueOneofCase.ArrayValue => AttributeValueType.Array,
        AnyValue.ValueOneofCase.KvlistValue => AttributeValueType.KvList,
        AnyValue.ValueOneofCase.BytesValue => AttributeValueType.Bytes,
        _ => AttributeValueType.Empty,
    };

    /// <summary>Arrays and kvlists as plain JSON (["a",1] / {"k":"v"}): readable, and what users paste.</summary>
    private static string ToJson(AnyValue value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            Write(writer, value);
        }

        return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    private static void Write(Utf8JsonWriter writer, AnyValue? value)
    {
        switch (value?.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                writer.WriteStringValue(value.StringValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                writer.WriteNumberValue(value.IntValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue when double.IsFinite(value.DoubleValue):
                writer.WriteNumberValue(value.DoubleValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                writer.WriteStringValue(value.DoubleValue.ToString(CultureInfo.InvariantCulture));
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                writer.WriteBooleanValue(value.BoolValue);
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                writer.WriteBase64StringValue(value.BytesValue.Span);
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                writer.WriteStartArray();
                foreach (var item in value.ArrayValue.Values)
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                writer.WriteStartObject();
                foreach (var kv in value.KvlistValue.Values)
                {
                    writer.WritePropertyName(kv.Key);
                    Write(writer, kv.Value);
                }

                writer.WriteEndObject();
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}
