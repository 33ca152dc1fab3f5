using System.Collections;
using System.Reflection;
using Xunit.Sdk;

namespace Nabla.Tests.Meta;

/// <summary>
/// Guards against silently skipped theory cases: xUnit derives a case's ID from its serialised arguments
/// and drops a second case with the same ID with only a log line ("Skipping test case with duplicate ID").
/// Every [MemberData]/[InlineData] theory in this assembly must therefore produce distinct argument lists.
/// </summary>
public class TheoryDataTests
{
    [Fact]
    public void Every_theory_has_distinct_cases()
    {
        var problems = new List<string>();
        int theories = 0, cases = 0;
        foreach (var type in typeof(TheoryDataTests).Assembly.GetTypes())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (method.GetCustomAttribute<TheoryAttribute>() is null) continue;
                theories++;
                var seen = new Dictionary<string, int>();
                foreach (var attr in method.GetCustomAttributes<DataAttribute>())
                {
                    IEnumerable<object?[]> rows;
                    try { rows = attr.GetData(method); }
                    catch (Exception e) { problems.Add($"{type.Name}.{method.Name}: its data could not be enumerated: {e.Message}"); continue; }
                    foreach (var row in rows)
                    {
                        cases++;
                        string key = string.Join(" | ", row.Select(Format));
                        seen[key] = seen.GetValueOrDefault(key) + 1;
                    }
                }
                foreach (var (key, n) in seen.Where(kv => kv.Value > 1))
                    problems.Add($"{type.Name}.{method.Name}({key}) appears {n} times");
            }
        }
        Assert.True(theories > 0 && cases > 0, "no theories found");
        Assert.True(problems.Count == 0, "theory cases with the same arguments (xUnit would skip all but one):\n" + string.Join("\n", problems));
    }

    private static string Format(object? v) => v switch
    {
        null => "null",
        string s => "\"" + s + "\"",
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Format)) + "]",
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
