using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Otlp;
using Almanac.Otlp.Json;
using Almanac.Otlp.Wire;
using DuckDB.NET.Data;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// Spans go into the table straight from their OTLP encoding: the writer reads the wire format into the columns and
/// the blob without building a message object per span, attribute and value (those objects, held while a batch
/// waits and is written, were most of the ingest's garbage-collection work). A span the wire reader does not cover
/// (an attribute that is an array, map or bytes, text that is not valid UTF-8, repeated or unknown fields inside an
/// attribute) is parsed into objects and written by the object path, so both give the same rows.
/// </summary>
public sealed partial class DuckDbStore
{
    private const int InitialSpanRefs = 4096;

    // Writer-only scratch (guarded by _writeLock), reused from batch to batch.
    private SpanRef[] _spanRefs = new SpanRef[InitialSpanRefs];

    /// <summary>Each span's fields as the scan read them, by <see cref="SpanRef.Index"/> (kept apart so the sort moves less).</summary>
    private WireSpanLayout[] _spanLayouts = new WireSpanLayout[InitialSpanRefs];
    private readonly List<SpanGroup> _groups = [];
    private readonly Utf8Strings _strings = new();
    private readonly Dictionary<ulong, int> _spanPositions = [];

    /// <summary>Ids of stored attribute keys by their UTF-8 bytes: every attribute of every span looks one up.</summary>
    private readonly Utf8Map<int> _storedKeyIds = new();

    /// <summary>
    /// Lets go of the writer's scratch, which keeps the size of the largest batch so far (the span list alone was 4 MB
    /// after a burst of 512-span requests); the next write grows it again. Caller holds the write lock.
    /// </summary>
    private void ReleaseWriterScratch()
    {
        _spanRefs = new SpanRef[InitialSpanRefs];
        _spanLayouts = new WireSpanLayout[InitialSpanRefs];
        _spanPositions.Clear();
        _spanPositions.TrimExcess();
    }

    /// <summary>Where one span's bytes are, so a batch can be put in trace order before it is read.</summary>
    private struct SpanRef
    {
        public int Request;
        public int Offset;
        public int Length;

        /// <summary>
        /// The span's place in scan order: its fields' <see cref="_spanLayouts"/> entry. Beside the other ints it takes
        /// what was padding, so the sort moves no more bytes than before.
        /// </summary>
        public int Index;
        public long Start;
        public ulong TraceHigh;
        public ulong TraceLow;
        public ulong SpanId;
        public ulong ParentId;
        public int Group;

        /// <summary>How many places before this span (in appended order) its parent is; 0 when not in this write.</summary>
        public int ParentOffset;
    }

    /// <summary>The resource and scope a run of spans was sent under (one ScopeSpans).</summary>
    private sealed class SpanGroup(Resource resource, string resourceSchemaUrl, InstrumentationScope scope, string scopeSchemaUrl)
    {
        public Resource Resource { get; } = resource;

        public string ResourceSchemaUrl { get; } = resourceSchemaUrl;

        public InstrumentationScope Scope { get; } = scope;

        public string ScopeSchemaUrl { get; } = scopeSchemaUrl;

        public string Service { get; } = ServiceNames.Of(resource);

        public ResourceEntry? ResourceEntry { get; set; }

        public ScopeEntry? ScopeEntry { get; set; }
    }

    /// <summary>The batch's spans as encoded requests: the pipeline's as they are, object spans (tests, tools) encoded once.</summary>
    private static List<ReadOnlyMemory<byte>> TraceRequestsOf(TelemetryBatch batch)
    {
        var requests = new List<ReadOnlyMemory<byte>>(batch.TraceRequests.Count + 1);
        requests.AddRange(batch.TraceRequests);
        if (batch.Spans.Count > 0)
        {
            requests.Add(EncodeSpans(batch.Spans));
        }

        return requests;
    }

    /// <summary>Object spans as one request, consecutive spans of the same resource and scope sharing a ScopeSpans.</summary>
    private static byte[] EncodeSpans(IReadOnlyList<SpanData> spans)
    {
        var request = new ExportTraceServiceRequest();
        ResourceSpans? resourceSpans = null;
        ScopeSpans? scopeSpans = null;
        SpanData? previous = null;
        foreach (var data in spans)
        {
            if (previous is null || !ReferenceEquals(data.Resource, previous.Resource) || data.ResourceSchemaUrl != previous.ResourceSchemaUrl)
            {
                resourceSpans = new ResourceSpans { Resource = data.Resource, SchemaUrl = data.ResourceSchemaUrl };
                request.ResourceSpans.Add(resourceSpans);
                scopeSpans = null;
            }

            if (scopeSpans is null || !ReferenceEquals(data.Scope, previous!.Scope) || data.ScopeSchemaUrl != previous.ScopeSchemaUrl)
            {
                scopeSpans = new ScopeSpans { Scope = data.Scope, SchemaUrl = data.ScopeSchemaUrl };
                resourceSpans!.ScopeSpans.Add(scopeSpans);
            }

            scopeSpans.Spans.Add(data.Span);
            previous = data;
        }

        return request.ToByteArray();
    }

    /// <summary>
    /// Finds every span of the requests (and the resource and scope it came with); returns how many. A request that
    /// cannot be read — ingest validated it, so only a defect could cause that — is left out with an error in the log:
    /// failing the batch would make the pipeline retry it forever and store nothing after it.
    /// </summary>
    private int ScanRequests(List<ReadOnlyMemory<byte>> requests)
    {
        _groups.Clear();
        var count = 0;
        for (var q = 0; q < requests.Count; q++)
        {
            var (countBefore, groupsBefore) = (count, _groups.Count);
            try
            {
                count = ScanRequest(requests[q].Span, q, count);
            }
            catch (Exception e) when (e is InvalidDataException or OtlpFormatException)
            {
                count = countBefore;
                _groups.RemoveRange(groupsBefore, _groups.Count - groupsBefore);
                _logger?.LogError(e, "An acknowledged trace export of {Bytes} bytes could not be read for storage and was left out", requests[q].Length);
            }
        }

        return count;
    }

    /// <summary>Adds one request's spans after the first <paramref name="count"/>; returns the new count.</summary>
    private int ScanRequest(ReadOnlySpan<byte> bytes, int q, int count)
    {
        var request = new ProtoReader(bytes);
        while (request.TryReadTag(out var field, out var wireType))
        {
            if (field != 1 || wireType != ProtoReader.LengthDelimited)
            {
                request.Skip(wireType);
                continue;
            }

            var resourceSpans = request.ReadLengthDelimited();
            var resourceSpansOffset = request.Position - resourceSpans.Length;
            var resource = new Resource();
            var resourceSchemaUrl = string.Empty;
            var fields = new ProtoReader(resourceSpans);
            while (fields.TryReadTag(out var f, out var w))
            {
                if (f == 1 && w == ProtoReader.LengthDelimited)
                {
                    // A message field sent twice merges, as the generated parser does.
                    resource.MergeFrom(OtlpProtobuf.ParseAccepted<Resource>(fields.ReadLengthDelimited()));
                }
                else if (f == 3 && w == ProtoReader.LengthDelimited)
                {
                    resourceSchemaUrl = ReadString(fields.ReadLengthDelimited());
                }
                else
                {
                    fields.Skip(w);
                }
            }

            var scopes = new ProtoReader(resourceSpans);
            while (scopes.TryReadTag(out var f, out var w))
            {
                if (f != 2 || w != ProtoReader.LengthDelimited)
                {
                    scopes.Skip(w);
                    continue;
                }

                var scopeSpans = scopes.ReadLengthDelimited();
                var scopeSpansOffset = resourceSpansOffset + scopes.Position - scopeSpans.Length;
                count = ScanScopeSpans(scopeSpans, scopeSpansOffset, q, resource, resourceSchemaUrl, count);
            }
        }

        return count;
    }

    private int ScanScopeSpans(ReadOnlySpan<byte> scopeSpans, int offset, int request, Resource resource, string resourceSchemaUrl, int count)
    {
        var scope = new InstrumentationScope();
        var schemaUrl = string.Empty;
        var fields = new ProtoReader(scopeSpans);
        while (fields.TryReadTag(out var f, out var w))
        {
            if (f == 1 && w == ProtoReader.LengthDelimited)
            {
                scope.MergeFrom(OtlpProtobuf.ParseAccepted<InstrumentationScope>(fields.ReadLengthDelimited()));
            }
            else if (f == 3 && w == ProtoReader.LengthDelimited)
            {
                schemaUrl = ReadString(fields.ReadLengthDelimited());
            }
            else
            {
                fields.Skip(w);
            }
        }

        var group = -1;
        var spans = new ProtoReader(scopeSpans);
        while (spans.TryReadTag(out var f, out var w))
        {
            if (f != 2 || w != ProtoReader.LengthDelimited)
            {
                spans.Skip(w);
                continue;
            }

            var span = spans.ReadLengthDelimited();
            if (group < 0)
            {
                group = _groups.Count;
                _groups.Add(new SpanGroup(resource, resourceSchemaUrl, scope, schemaUrl));
            }

            if (count == _spanRefs.Length)
            {
                Array.Resize(ref _spanRefs, count * 2);
                Array.Resize(ref _spanLayouts, count * 2);
            }

            // The one walk over the span's fields: the sort key now, the rest kept for the row after sorting.
            // A malformed id reads as 0 here (TryRead's default); the row's own checks refuse the span later.
            var read = WireSpan.Read(span);
            TraceId.TryRead(read.TraceId, out var traceId);
            SpanId.TryRead(read.SpanId, out var spanId);
            SpanId.TryRead(read.ParentSpanId, out var parentId);
            _spanLayouts[count] = read.Layout(span);
            _spanRefs[count] = new SpanRef
            {
                Request = request,
                Offset = offset + spans.Position - span.Length,
                Length = span.Length,
                Start = unchecked((long)read.Start),
                TraceHigh = traceId.High,
                TraceLow = traceId.Low,
                SpanId = spanId.Value,
                ParentId = parentId.Value,
                Group = group,
                Index = count,
            };
            count++;
        }

        return count;
    }

    /// <summary>
    /// Appends the batch's spans grouped by trace, each trace's in start order. A batch is one time slice whatever its
    /// order, so the zone maps on start_ns prune as before; grouped, a trace's spans share one or two vectors, so
    /// reading a trace decompresses a vector or two of the ZSTD columns instead of one per span (trace by id at 10M
    /// spans: p50 4.2 ms in start order), and trace ids run-length encode.
    /// </summary>
    private int AppendSpans(DuckDBAppender appender, List<ReadOnlyMemory<byte>> requests, int count, SpanWriteState state)
    {
        var skipped = 0;
        _spanRefs.AsSpan(0, count).Sort(static (a, b) =>
            a.TraceHigh != b.TraceHigh ? a.TraceHigh.CompareTo(b.TraceHigh)
            : a.TraceLow != b.TraceLow ? a.TraceLow.CompareTo(b.TraceLow)
            : a.Start.CompareTo(b.Start));
        LinkParents(_spanRefs.AsSpan(0, count));
        var firstSeq = _batchFilter.ReserveRows(count);
        foreach (var group in _groups)
        {
            group.ResourceEntry = ResolveResource(group.Resource, group.Service, group.ResourceSchemaUrl, state.BatchResources, state.NewResources, state.Catalogue, state.BatchNewest);
            group.ScopeEntry = ResolveScope(group.Scope, group.ScopeSchemaUrl, state.BatchScopes, state.NewScopes, state.Catalogue, group.ResourceEntry.Service, state.BatchNewest);
        }

        for (var i = 0; i < count; i++)
        {
            ref readonly var span = ref _spanRefs[i];
            bool appended;
            try
            {
                var bytes = requests[span.Request].Span.Slice(span.Offset, span.Length);
                appended = AppendWireSpan(appender, bytes, WireSpan.FromLayout(bytes, _spanLayouts[span.Index], unchecked((ulong)span.Start)),
                    _groups[span.Group], new RowPlace(firstSeq + i, span.ParentOffset), state);
            }
            catch (InvalidDataException)
            {
                // Malformed inside (counted below); nothing of it was appended: the row is added after every read.
                appended = false;
            }

            if (!appended)
            {
                skipped++;
            }
        }

        return skipped;
    }

    /// <summary>
    /// Sets each span's <see cref="SpanRef.ParentOffset"/> when its parent is among the spans of its trace in this write
    /// (the refs are sorted, so those are the run of equal trace ids). A trace's few spans are searched directly; a
    /// long run (a batch job's trace of thousands of spans) through a map, so the work stays linear.
    /// </summary>
    private void LinkParents(Span<SpanRef> refs)
    {
        for (var first = 0; first < refs.Length;)
        {
            var end = first + 1;
            while (end < refs.Length && refs[end].TraceHigh == refs[first].TraceHigh && refs[end].TraceLow == refs[first].TraceLow)
            {
                end++;
            }

            var run = refs[first..end];
            var useMap = run.Length > 32;
            if (useMap)
            {
                _spanPositions.Clear();
                for (var i = 0; i < run.Length; i++)
                {
                    // The first of two spans sharing an id (a sender's bug) is the one its children point to.
                    _spanPositions.TryAdd(run[i].SpanId, i);
                }
            }

            for (var i = 0; i < run.Length; i++)
            {
                ref var span = ref run[i];
                span.ParentOffset = 0;
                if (span.ParentId == 0)
                {
                    continue;
                }

                var parent = -1;
                if (useMap)
                {
                    parent = _spanPositions.GetValueOrDefault(span.ParentId, -1);
                }
                else
                {
                    for (var j = 0; j < run.Length; j++)
                    {
                        if (run[j].SpanId == span.ParentId)
                        {
                            parent = j;
                            break;
                        }
                    }
                }

                // A span that is its own parent keeps the id: offset 0 means "not in this write".
                if (parent >= 0 && parent != i)
                {
                    span.ParentOffset = i - parent;
                }
            }

            first = end;
        }
    }

    /// <summary>Where a span's row goes in its batch (<c>seq</c>) and where its parent's row is relative to it.</summary>
    private readonly record struct RowPlace(int Seq, int ParentOffset);

    /// <summary>
    /// One span from its encoding and the <paramref name="fields"/> read from it; false when it is invalid (bad ids,
    /// text that is not UTF-8), which ingest refuses.
    /// </summary>
    private bool AppendWireSpan(DuckDBAppender appender, ReadOnlySpan<byte> bytes, WireSpan fields, SpanGroup group, RowPlace place, SpanWriteState state)
    {
        if (!TraceId.TryRead(fields.TraceId, out var traceId) || traceId.IsEmpty
            || !SpanId.TryRead(fields.SpanId, out var spanId) || spanId.IsEmpty
            || (fields.ParentSpanId.Length != 0 && fields.ParentSpanId.Length != SpanId.ByteLength))
        {
            return false;
        }

        var parentId = default(SpanId);
        if (fields.ParentSpanId.Length == SpanId.ByteLength)
        {
            SpanId.TryRead(fields.ParentSpanId, out parentId);
        }

        if (!System.Text.Unicode.Utf8.IsValid(fields.Name) || !BuildSearchText(bytes, fields.HasEvents) || (fields.HasLinks && !LinksAreSimple(bytes)))
        {
            Span span;
            try
            {
                span = OtlpProtobuf.ParseAccepted<Span>(bytes);
            }
            catch (OtlpFormatException)
            {
                return false;
            }

            AppendSpan(appender, new SpanData(traceId, spanId, parentId, group.Service, group.Resource, group.ResourceSchemaUrl,
                group.Scope, group.ScopeSchemaUrl, span), group.ResourceEntry!, group.ScopeEntry!, place, state);
            return true;
        }

        var start = unchecked((long)fields.Start);
        var end = unchecked((long)fields.End);
        var name = _strings.Get(fields.Name);
        if (fields.HasLinks)
        {
            RecordLinkKeys(bytes, group.Service, start, state.Catalogue);
        }

        var blob = _codec.EncodeRaw(bytes, fields, _searchText.Rebuildable, _searchText.EventsRebuildable, start, Math.Max(0, end - start));
        AppendRow(appender, state, traceId, spanId, parentId, place, start, end, group.Service, name, Writable(fields.Name), fields.Kind,
            fields.StatusCode, group.ResourceEntry!, group.ScopeEntry!, blob);
        return true;
    }

    /// <summary>A span given as objects (the fallback of <see cref="AppendWireSpan"/>).</summary>
    private void AppendSpan(DuckDBAppender appender, SpanData data, ResourceEntry resource, ScopeEntry scope, RowPlace place, SpanWriteState state)
    {
        var span = data.Span;
        var catalogue = state.Catalogue;
        foreach (var link in span.Links)
        {
            foreach (var kv in link.Attributes)
            {
                catalogue.Key(data.ServiceName, kv.Key, AttributeText.TypeOf(kv.Value), AttributeTarget.Link, data.StartTimeUnixNano);
            }
        }

        _searchText.Build(span.Attributes, span.Events, _keyIdOf);
        AppendRow(appender, state, data.TraceId, data.SpanId, data.ParentSpanId, place, data.StartTimeUnixNano, data.EndTimeUnixNano,
            data.ServiceName, span.Name, Utf8(span.Name), (int)span.Kind, (int)(span.Status?.Code ?? Status.Types.StatusCode.Unset),
            resource, scope, _codec.Encode(data, stripAttributes: _searchText.Rebuildable, stripEventAttributes: _searchText.EventsRebuildable));
    }

    /// <summary>
    /// The row, catalogue entries, search-batch filter and trace summary of one span, whichever path read it; the
    /// search text is already built and <paramref name="blob"/> encoded.
    /// </summary>
    private void AppendRow(DuckDBAppender appender, SpanWriteState state, TraceId traceId, SpanId spanId, SpanId parentId, RowPlace place, long start,
        long end, string service, string name, Span<byte> nameUtf8, int kind, int statusCode, ResourceEntry resource, ScopeEntry scope,
        Span<byte> blob)
    {
        var duration = Math.Max(0, end - start);
        var serviceUtf8 = Utf8(service);
        _attributeSets.Observe(_searchText);
        var attributeSet = _searchText.Split(_attributeSets.IsCommon) ? _attributeSets.IdOf(_searchText.CommonText) : 0;
        state.Catalogue.Service(service, start);
        state.Catalogue.Operation(service, name, kind, start);
        RecordSearchTextKeys(state.Catalogue, service, start);

        // Strings go in as UTF-8 bytes: DuckDB.NET's string overload marshals a fresh native copy per value. The
        // kind and status columns are TINYINTs; a kind beyond one stays in the blob (SpanCodec).
        appender.CreateRow()
            .AppendValue((UInt128?)Stored(traceId))
            .AppendValue((ulong?)spanId.Value)
            .AppendValue((ulong?)(place.ParentOffset != 0 ? 0 : parentId.Value))
            .AppendValue((int?)place.ParentOffset)
            .AppendValue((int?)place.Seq)
            .AppendValue((long?)start)
            .AppendValue((long?)duration)
            .AppendValue(serviceUtf8)
            .AppendValue(nameUtf8)
            .AppendValue((sbyte?)unchecked((sbyte)kind))
            .AppendValue((sbyte?)unchecked((sbyte)statusCode))
            .AppendValue((long?)resource.Id)
            .AppendValue((long?)scope.Id)
            .AppendValue(attributeSet != 0 ? _searchText.RareText : _searchText.Text)
            .AppendValue((int?)attributeSet)
            .AppendValue(attributeSet != 0 ? _searchText.SplitTypes : _searchText.Types)
            .AppendValue(blob)
            .AppendValue((IEnumerable<long>)_codec.EventTimes)
            .AppendValue((int?)_batchFilter.Batch)
            .EndRow();
        _batchFilter.AddSpan(place.Seq, service, serviceUtf8, name, nameUtf8, resource.Id, start, duration, _searchText);
        state.AddToTrace(traceId, start, end, parentId.IsEmpty, service, name, statusCode == (int)Status.Types.StatusCode.Error);
    }

    private void RecordSearchTextKeys(CatalogueDelta catalogue, string service, long seen)
    {
        var serviceIndex = catalogue.ServiceIndex(service);
        for (var p = 0; p < _searchText.PairCount; p++)
        {
            catalogue.KeyById(serviceIndex, _searchText.PairKey(p), _searchText.PairType(p),
                p < _searchText.SpanPairCount ? AttributeTarget.Span : AttributeTarget.Event, seen);
        }
    }

    /// <summary>The search text from the span's and its events' attributes; false when one needs the object path.</summary>
    private bool BuildSearchText(ReadOnlySpan<byte> span, bool hasEvents)
    {
        _searchText.BeginRaw();
        // Event attributes after all span attributes, whatever order the fields came in.
        if (!AddToSearchText(new WireAttributes(span, WireSpan.AttributesField, 0), spanAttributes: true))
        {
            return false;
        }

        // Event by event, so the search text knows where each one's attributes end (it may rebuild them).
        var events = new ProtoReader(hasEvents ? span : default);
        while (events.TryReadTag(out var field, out var wireType))
        {
            if (field != WireSpan.EventsField || wireType != ProtoReader.LengthDelimited)
            {
                events.Skip(wireType);
                continue;
            }

            if (!AddToSearchText(new WireAttributes(events.ReadLengthDelimited(), WireSpan.EventAttributesField, 0), spanAttributes: false))
            {
                return false;
            }

            _searchText.EndRawEvent();
        }

        _searchText.EndRaw();
        return true;
    }

    /// <summary>
    /// <see cref="KeyIdForWrite(string)"/> from the key's bytes. Only ids of keys already stored are cached: a new key's
    /// id is handed out by this batch and may go to another key if the batch fails.
    /// </summary>
    private int KeyIdForWrite(ReadOnlySpan<byte> key)
    {
        if (_storedKeyIds.TryGet(key, out var hash, out var id))
        {
            return id;
        }

        var text = _strings.Get(key);
        id = KeyIdForWrite(text);
        if (_keyIds.ContainsKey(text))
        {
            _storedKeyIds.Add(key, hash, id);
        }

        return id;
    }

    private bool AddToSearchText(WireAttributes attributes, bool spanAttributes)
    {
        while (attributes.MoveNext(out var keyValue))
        {
            if (!WireSpan.TryReadKeyValue(keyValue, out var key, out var value))
            {
                return false;
            }

            _searchText.AddRaw(KeyIdForWrite(key), value, spanAttributes);
        }

        return true;
    }

    private bool LinksAreSimple(ReadOnlySpan<byte> span) => VisitLinkAttributes(span, null, string.Empty, 0);

    private void RecordLinkKeys(ReadOnlySpan<byte> span, string service, long seen, CatalogueDelta catalogue) =>
        VisitLinkAttributes(span, catalogue, service, seen);

    /// <summary>Walks the links' attributes (into the catalogue when one is given); false when one needs the object path.</summary>
    private bool VisitLinkAttributes(ReadOnlySpan<byte> span, CatalogueDelta? catalogue, string service, long seen)
    {
        var attributes = new WireAttributes(span, WireSpan.LinksField, WireSpan.LinkAttributesField);
        while (attributes.MoveNext(out var keyValue))
        {
            if (!WireSpan.TryReadKeyValue(keyValue, out var key, out var value))
            {
                return false;
            }

            catalogue?.Key(service, _strings.Get(key), value.Type, AttributeTarget.Link, seen);
        }

        return true;
    }

    private static string ReadString(ReadOnlySpan<byte> utf8) => utf8.IsEmpty ? string.Empty : System.Text.Encoding.UTF8.GetString(utf8);

    /// <summary>DuckDB.NET's appender takes <see cref="Span{T}"/> only; it copies and never writes the bytes.</summary>
    private static Span<byte> Writable(ReadOnlySpan<byte> bytes) => MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(bytes), bytes.Length);

    /// <summary>What one batch's span rows gather on the way: new resources and scopes, catalogue entries, trace summaries.</summary>
    private sealed class SpanWriteState(long batchNewest)
    {
        public long BatchNewest { get; } = batchNewest;

        public Dictionary<Resource, ResourceEntry> BatchResources { get; } = new(ReferenceEqualityComparer.Instance);

        public Dictionary<InstrumentationScope, ScopeEntry> BatchScopes { get; } = new(ReferenceEqualityComparer.Instance);

        public List<ResourceEntry> NewResources { get; } = [];

        public List<ScopeEntry> NewScopes { get; } = [];

        public CatalogueDelta Catalogue { get; } = new();

        public Dictionary<TraceId, TraceAggregate> Traces { get; } = [];

        public void AddToTrace(TraceId traceId, long start, long end, bool isRoot, string service, string name, bool isError)
        {
            if (Traces.TryGetValue(traceId, out var aggregate))
            {
                aggregate.Add(start, end, isRoot, service, name, isError);
            }
            else
            {
                Traces.Add(traceId, new TraceAggregate(start, end, isRoot, service, name, isError));
            }
        }
    }

    /// <summary>
    /// Values looked up by UTF-8 bytes without making a string of them: a batch repeats a few hundred names and keys on
    /// every span. Bounded like <see cref="Utf8(string)"/> so a sender minting unique names cannot grow it forever.
    /// </summary>
    private sealed class Utf8Map<T>
    {
        private readonly Dictionary<ulong, List<(byte[] Utf8, T Value)>> _byHash = [];
        private int _count;

        public bool TryGet(ReadOnlySpan<byte> utf8, out ulong hash, [MaybeNullWhen(false)] out T value)
        {
            // XxHash3 is vectorized; HashCode.AddBytes took a few percent of the writer on names and keys alone.
            hash = System.IO.Hashing.XxHash3.HashToUInt64(utf8);
            if (_byHash.TryGetValue(hash, out var entries))
            {
                // Over the list's span, not its enumerator: with a reference-type value the enumerator is shared
                // generic code the JIT did not inline, ~2% of the process's samples under load (perf).
                foreach (ref readonly var entry in CollectionsMarshal.AsSpan(entries))
                {
                    if (utf8.SequenceEqual(entry.Utf8))
                    {
                        value = entry.Value;
                        return true;
                    }
                }
            }

            value = default;
            return false;
        }

        public void Add(ReadOnlySpan<byte> utf8, ulong hash, T value)
        {
            if (!_byHash.TryGetValue(hash, out var entries))
            {
                if (_count >= 100_000)
                {
                    _byHash.Clear();
                    _count = 0;
                }

                entries = new List<(byte[], T)>(1);
                _byHash[hash] = entries;
            }

            entries.Add((utf8.ToArray(), value));
            _count++;
        }
    }

    /// <summary>UTF-8 names and keys as strings, each distinct one allocated once.</summary>
    private sealed class Utf8Strings
    {
        private readonly Utf8Map<string> _strings = new();

        public string Get(ReadOnlySpan<byte> utf8)
        {
            if (utf8.IsEmpty)
            {
                return string.Empty;
            }

            if (_strings.TryGet(utf8, out var hash, out var text))
            {
                return text;
            }

            text = System.Text.Encoding.UTF8.GetString(utf8);
            _strings.Add(utf8, hash, text);
            return text;
        }
    }
}
