using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Almanac.Query.Tests;

internal static class QueryStrings
{
    /// <summary>Parses a raw query string exactly as ASP.NET Core does for a request (URL decoding, repeated keys).</summary>
    public static IQueryCollection Parse(string query) => new QueryCollection(QueryHelpers.ParseQuery(query));
}
