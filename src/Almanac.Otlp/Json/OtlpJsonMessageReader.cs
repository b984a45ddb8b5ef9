using System.Buffers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;

namespace Almanac.Otlp.Json;

/// <summary>
/// OTLP/JSON for the logs and metrics requests, through Google.Protobuf's JSON parser. OTLP/JSON differs from the
/// protobuf JSON mapping only in its trace and span ids (hex instead of base64), so one streaming pass rewrites those
/// to base64 and the protobuf parser does the rest: lowerCamelCase or original names, 64-bit integers as strings or
/// numbers, enums as integers or names, unknown fields ignored. Traces have their own faster reader
/// (<see cref="OtlpJsonTraceReader"/>) because they are the hot path.
/// </summary>
internal static class OtlpJsonMessageReader
{
    // An AnyValue level costs at most four JSON levels (kvlistValue → object → values array → entry object).
    private const int MaxJsonDepth = (OtlpJson.MaxAnyValueDepth * 4) + 16;

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true).WithRecursionLimit(OtlpProtobuf.RecursionLimit));

    public static T Parse<T>(ReadOnlySpan<byte> utf8Json, Action<T> check)
        where T : IMessage<T>, new()
    {
        if (IsBlank(utf8Json))
        {
            return new T();
        }

        try
        {
            var request = Parser.Parse<T>(RewriteIds(utf8Json));
            check(request);
            return request;
        }
        catch (OtlpFormatException)
        {
            throw;
        }
        catch (JsonException ex)
        {
            throw new OtlpFormatException($"Invalid OTLP/JSON body: {ex.Message}", ex);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new OtlpFormatException($"Invalid OTLP/JSON body: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new OtlpFormatException($"Invalid OTLP/JSON body: {ex.Message}", ex);
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> utf8Json)
    {
        foreach (var b in utf8Json)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Copies the document, turning hex <c>traceId</c>/<c>spanId</c> values into base64.</summary>
    private static string RewriteIds(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = MaxJsonDepth, CommentHandling = JsonCommentHandling.Disallow });
        var output = new ArrayBufferWriter<byte>(utf8Json.Length + 64);
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true, MaxDepth = MaxJsonDepth }))
        {
            var idField = false;
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        idField = reader.ValueTextEquals("traceId"u8) || reader.ValueTextEquals("spanId"u8)
                            || reader.ValueTextEquals("trace_id"u8) || reader.ValueTextEquals("span_id"u8);
                        writer.WritePropertyName(reader.GetString()!);
                        continue;
                    case JsonTokenType.String when idField:
                        writer.WriteStringValue(HexToBase64(reader.GetString()!));
                        break;
                    case JsonTokenType.String:
                        writer.WriteStringValue(reader.GetString());
                        break;
                    case JsonTokenType.Number:
                        writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                        break;
                    case JsonTokenType.True:
                    case JsonTokenType.False:
                        writer.WriteBooleanValue(reader.GetBoolean());
                        break;
                    case JsonTokenType.Null:
                        writer.WriteNullValue();
                        break;
                    case JsonTokenType.StartObject:
                        writer.WriteStartObject();
                        break;
                    case JsonTokenType.EndObject:
                        writer.WriteEndObject();
                        break;
                    case JsonTokenType.StartArray:
                        writer.WriteStartArray();
                        break;
                    case JsonTokenType.EndArray:
                        writer.WriteEndArray();
                        break;
                }

                idField = false;
            }
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static string HexToBase64(string hex)
    {
        if (hex.Length == 0)
        {
            return hex;
        }

        try
        {
            return Convert.ToBase64String(Convert.FromHexString(hex));
        }
        catch (FormatException)
        {
            throw new OtlpFormatException($"Invalid OTLP/JSON body: id '{(hex.Length > 40 ? hex[..40] + "…" : hex)}' is not hex");
        }
    }
}
