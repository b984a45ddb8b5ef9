namespace Almanac.Query;

/// <summary>A request parameter the client got wrong; the message is shown to the client with a 400.</summary>
internal sealed class QueryParameterException : Exception
{
    public QueryParameterException(string message) : base(message)
    {
    }

    public QueryParameterException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public QueryParameterException()
    {
    }
}
