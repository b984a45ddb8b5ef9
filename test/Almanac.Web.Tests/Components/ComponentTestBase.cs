using AngleSharp.Dom;
using Almanac.Core.Storage;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;

namespace Almanac.Web.Tests.Components;

public sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>bUnit context with an in-memory reader and a clock fixed shortly after the test data's base time.</summary>
public abstract class ComponentTestBase : BunitContext
{
    protected static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(Almanac.Testing.TestData.BaseTimeUnixNano / 1_000_000).AddMinutes(10);

    protected ComponentTestBase()
    {
        Services.AddSingleton<ISpanReader>(Reader);
        Services.AddSingleton<TimeProvider>(new FixedTime(Now));
        // Setting the renderer info builds the service provider, after which nothing can be added: derived classes
        // add theirs here (their field initializers have already run).
        AddServices(Services);
        // Pages render the way the server prerenders them; tests of interactive behaviour switch to "Server".
        Renderer.SetRendererInfo(new RendererInfo("Static", isInteractive: false));
    }

    protected InMemorySpanReader Reader { get; } = new();

    /// <summary>Services a test class needs beyond the span reader and the clock.</summary>
    protected virtual void AddServices(IServiceCollection services)
    {
    }

    protected void NavigateTo(string url) => Services.GetRequiredService<NavigationManager>().NavigateTo(url);

    /// <summary>No script or img element, no on* handler attribute, and every href a same-site path or anchor.</summary>
    protected static void AssertNoInjectedMarkup(IRenderedComponent<IComponent> cut) => AssertNoInjectedMarkup(cut.Nodes);

    protected static void AssertNoInjectedMarkup(INodeList nodes)
    {
        foreach (var element in nodes.OfType<IElement>().SelectMany(e => e.DescendantsAndSelf<IElement>()))
        {
            Assert.NotEqual("SCRIPT", element.TagName);
            Assert.NotEqual("IMG", element.TagName);
            foreach (var attribute in element.Attributes)
            {
                Assert.False(attribute.Name.StartsWith("on", StringComparison.OrdinalIgnoreCase), $"{element.TagName} has {attribute.Name}");
                if (attribute.Name is "href" or "src" or "action")
                {
                    // A same-site path or an in-page anchor: no scheme (javascript:, data:) and no other host (//).
                    var value = attribute.Value;
                    Assert.True((value.StartsWith('/') && !value.StartsWith("//", StringComparison.Ordinal)) || value.StartsWith('#'), $"{element.TagName} {attribute.Name}={value}");
                }
            }
        }
    }
}
