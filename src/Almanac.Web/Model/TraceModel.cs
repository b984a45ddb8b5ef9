using System.Text;
using System.Text.Json;
using Almanac.Core.Model;

namespace Almanac.Web.Model;

/// <summary>
/// The compact JSON model of a trace that app.js renders as a virtualised timeline. One array per span, in the
/// depth-first row order of <see cref="TraceView.Rows"/>; every span of the view is written (nothing is cut).
/// Times are nanoseconds relative to the trace start (the start itself is a string: it does not fit a double).
/// </summary>
/// <remarks>
/// <code>
/// { "traceId": "32 hex", "start": "unix nanos", "duration": n, "spanCount": n,
///   "services": ["name", …], "colors": ["#hex", …],
///   "spans": [[ "16 hex span id", parentRow (-1 for a root), depth, serviceIndex, "name", start, duration,
///               flags (1 error, 2 parent missing), "lower-cased find text", [cpStart, cpEnd, …] ], …] }
/// </code>
/// Strings are written by System.Text.Json's default encoder, which escapes HTML-sensitive characters; the
/// script only ever puts them into the page through textContent.
/// </remarks>
public static class TraceModel
{
    public const int FlagError = 1;
    public const int FlagParentMissing = 2;

    public static byte[] ToUtf8Json(TraceView view, bool details = false, IReadOnlyList<string>? notes = null)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            Write(writer, view, details, notes);
        }

        return stream.ToArray();
    }

    /// <param name="details">Also write each span's details as an 11th element (for opened files, which have no
    /// stored span to fetch the details fragment for): kind, status, parent, attributes, events, links, resource, scope.</param>
    /// <param name="notes">What the page should say about the data (spans or traces of a file not shown, and why).</param>
    public static void Write(Utf8JsonWriter w, TraceView view, bool details = false, IReadOnlyList<string>? notes = null)
    {
        var serviceIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < view.Services.Count; i++)
        {
            serviceIndex[view.Services[i]] = i;
        }

        w.WriteStartObject();
        w.WriteString("traceId", view.TraceId.ToHex());
        w.WriteString("start", view.Start.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteNumber("duration", view.Duration);
        w.WriteNumber("spanCount", view.Rows.Count);
        w.WriteStartArray("notes");
        foreach (var note in notes ?? [])
        {
            w.WriteStringValue(note);
        }

        w.WriteEndArray();
        w.WriteStartArray("services");
        foreach (var s in view.Services)
        {
            w.WriteStringValue(s);
        }

        w.WriteEndArray();
        w.WriteStartArray("colors");
        foreach (var s in view.Services)
        {
            w.WriteStringValue(view.ColorOf(s));
        }

        w.WriteEndArray();
        w.WriteStartArray("spans");
        var text = new StringBuilder();
        foreach (var n in view.Rows)
        {
            w.WriteStartArray();
            w.WriteStringValue(n.Span.SpanId.ToHex());
            w.WriteNumberValue(n.Parent?.Index ?? -1);
            w.WriteNumberValue(n.Depth);
            w.WriteNumberValue(serviceIndex[n.Span.ServiceName]);
            w.WriteStringValue(n.Span.Span.Name);
            w.WriteNumberValue(n.Start - view.Start);
            w.WriteNumberValue(n.Duration);
            w.WriteNumberValue((n.Span.IsError ? FlagError : 0) | (n.ParentMissing ? FlagParentMissing : 0));
            text.Clear();
            w.WriteStringValue(SearchText(n, text));
            w.WriteStartArray();
            foreach (var (s, e) in n.CriticalSections)
            {
                w.WriteNumberValue(s - view.Start);
                w.WriteNumberValue(e - view.Start);
            }

            w.WriteEndArray();
            if (details)
            {
                WriteDetails(w, n, view.Start);
            }

            w.WriteEndArray();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteDetails(Utf8JsonWriter w, SpanNode n, long traceStart)
    {
        var span = n.Span.Span;
        w.WriteStartObject();
        w.WriteString("kind", TraceView.KindName(span.Kind));
        var code = span.Status?.Code ?? OpenTelemetry.Proto.Trace.V1.Status.Types.StatusCode.Unset;
        var status = code == OpenTelemetry.Proto.Trace.V1.Status.Types.StatusCode.Error ? "error" : code == OpenTelemetry.Proto.Trace.V1.Status.Types.StatusCode.Ok ? "ok" : "unset";
        w.WriteString("status", string.IsNullOrEmpty(span.Status?.Message) ? status : status + ": " + span.Status.Message);
        w.WriteString("parent", n.Span.ParentSpanId.IsEmpty ? string.Empty : n.Span.ParentSpanId.ToHex());
        w.WriteNumber("start", n.Start - traceStart);
        WriteRows(w, "attributes", span.Attributes);
        w.WriteStartArray("events");
        foreach (var e in span.Events)
        {
            w.WriteStartArray();
            w.WriteStringValue(e.Name);
            w.WriteNumberValue((long)e.TimeUnixNano - n.Start);
            WriteRows(w, null, e.Attributes);
            w.WriteEndArray();
        }

        w.WriteEndArray();
        // Links to other traces: [trace id hex ("" when invalid), span id hex, attributes].
        w.WriteStartArray("links");
        foreach (var link in span.Links)
        {
            w.WriteStartArray();
            w.WriteStringValue(TraceId.TryRead(link.TraceId.Span, out var linked) && !linked.IsEmpty ? linked.ToHex() : string.Empty);
            w.WriteStringValue(AttributeFormatting.Hex(link.SpanId));
            WriteRows(w, null, link.Attributes);
            w.WriteEndArray();
        }

        w.WriteEndArray();
        WriteRows(w, "resource", n.Span.Resource.Attributes);
        w.WriteString("scope", (n.Span.Scope.Name + " " + n.Span.Scope.Version).Trim());
        w.WriteEndObject();
    }

    private static void WriteRows(Utf8JsonWriter w, string? name, IEnumerable<OpenTelemetry.Proto.Common.V1.KeyValue> attributes)
    {
        if (name is null)
        {
            w.WriteStartArray();
        }
        else
        {
            w.WriteStartArray(name);
        }

        foreach (var row in AttributeFormatting.Rows(attributes))
        {
            w.WriteStartArray();
            w.WriteStringValue(row.Key);
            w.WriteStringValue(row.Value);
            w.WriteStringValue(row.Type);
            w.WriteEndArray();
        }

        w.WriteEndArray();
    }

    /// <summary>What find-in-trace matches: service, operation, span id and span attributes, lower-cased.</summary>
    public static string SearchText(SpanNode n, StringBuilder? sb = null)
    {
        sb ??= new StringBuilder();
        sb.Append(n.Span.ServiceName).Append(' ').Append(n.Span.Span.Name).Append(' ').Append(n.Span.SpanId.ToHex());
        foreach (var kv in n.Span.Span.Attributes)
        {
            sb.Append(' ').Append(kv.Key).Append('=').Append(AttributeFormatting.Text(kv.Value));
        }

        return sb.ToString().ToLowerInvariant();
    }
}
