# The EEx peer of tests/bench/template_bench.c: the fruits page of apps/fruits
# (fruits.html.eex here is the same page in EEx, read by the same rules: every value written
# with <%= %> is HTML-escaped, as Phoenix.HTML does) compiled with EEx.function_from_string and
# rendered with N fruits. Prints the same JSON lines as template_bench, with "peer":"eex".
#
#   usage: elixir fruits.exs [ITEMS [SECONDS]]      (defaults 1000 and 3)
#
# The render returns iodata, as EEx does and as Phoenix writes it to the socket: it is not
# flattened into one binary (that would cost EEx more; the C side builds one buffer).

defmodule Peer.Fruits do
  require EEx

  # HTML escaping of a value, as Phoenix.HTML.html_escape: & < > " ' as entities.
  def h(v) when is_binary(v), do: escape(v)
  def h(v) when is_integer(v), do: Integer.to_string(v)
  def h(v), do: escape(to_string(v))

  # Walks the binary once and returns iodata of its plain runs and the entities, the way
  # Phoenix.HTML escapes (no copy of a string that needs no escaping).
  defp escape(bin), do: escape(bin, bin, 0, 0, [])

  defp escape(<<c, rest::binary>>, orig, skip, len, acc) when c in [?&, ?<, ?>, ?", ?'] do
    escape(rest, orig, skip + len + 1, 0, [acc, binary_part(orig, skip, len) | entity(c)])
  end

  defp escape(<<_, rest::binary>>, orig, skip, len, acc), do: escape(rest, orig, skip, len + 1, acc)
  defp escape(<<>>, orig, 0, _, []), do: orig
  defp escape(<<>>, orig, skip, len, acc), do: [acc | binary_part(orig, skip, len)]

  defp entity(?&), do: "&amp;"
  defp entity(?<), do: "&lt;"
  defp entity(?>), do: "&gt;"
  defp entity(?"), do: "&quot;"
  defp entity(?'), do: "&#39;"

  EEx.function_from_string(
    :def,
    :render,
    File.read!(Path.join(__DIR__, "fruits.html.eex")),
    [:assigns],
    trim: true
  )
end

defmodule Peer.Run do
  def fruits(n) do
    names = ["Apple", "Orange", "Banana", "Kiwi & Lime", "<Pear>"]
    for i <- 0..(n - 1), do: {i, Enum.at(names, rem(i, 5))}
  end

  def loop(assigns, deadline, count) do
    Enum.each(1..100, fn _ -> Peer.Fruits.render(assigns) end)
    count = count + 100
    if System.monotonic_time(:nanosecond) < deadline, do: loop(assigns, deadline, count), else: count
  end

  def main(["--show", n]) do
    IO.write(IO.iodata_to_binary(Peer.Fruits.render(%{fruits: fruits(String.to_integer(n))})))
  end

  def main(args) do
    items = String.to_integer(Enum.at(args, 0, "1000"))
    {seconds, ""} = Float.parse(Enum.at(args, 1, "3"))
    assigns = %{fruits: (if items > 0, do: fruits(items), else: [])}
    bytes = IO.iodata_length(Peer.Fruits.render(assigns))
    Enum.each(1..200, fn _ -> Peer.Fruits.render(assigns) end)
    t0 = System.monotonic_time(:nanosecond)
    n = loop(assigns, t0 + round(seconds * 1.0e9), 0)
    per = (System.monotonic_time(:nanosecond) - t0) / n
    line = fn metric, value, unit ->
      IO.puts(
        ~s({"peer":"eex","bench":"template_fruits","items":#{items},"metric":"#{metric}",) <>
          ~s("value":#{round(value)},"unit":"#{unit}","schedulers":1})
      )
    end
    line.("renders_per_s", 1.0e9 / per, "renders/s")
    line.("ns_per_render", per, "ns")
    line.("bytes_per_render", bytes, "bytes")
  end
end

Peer.Run.main(System.argv())
