"""fast_canvas: the drawable canvas's bundle copied with its send delay lowered."""

from dashboard import fast_canvas


def test_the_copy_differs_from_the_stock_bundle_only_in_the_send_delay(tmp_path):
    stock = fast_canvas.stock_bundle()
    copy = fast_canvas.patched_bundle(stock, tmp_path)
    assert copy is not None, "the installed canvas no longer has the 200 ms delay this module lowers"
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in stock.iterdir())
    (stock_js,) = stock.glob("index-*.js")
    lowered = (copy / stock_js.name).read_text(encoding="utf-8")
    fast = f"}}, Bc = {fast_canvas.SEND_DELAY_MS}, Ar = (e) => {{"
    assert lowered.count(fast) == 1 and fast_canvas.STOCK_DELAY not in lowered
    assert lowered.replace(fast, fast_canvas.STOCK_DELAY) == stock_js.read_text(encoding="utf-8")
    assert (copy / "index-style.css").read_bytes() == (stock / "index-style.css").read_bytes()


def test_the_copy_is_made_once_and_reused(tmp_path):
    first = fast_canvas.patched_bundle(fast_canvas.stock_bundle(), tmp_path)
    marker = first / "marker"
    marker.write_text("kept")
    assert fast_canvas.patched_bundle(fast_canvas.stock_bundle(), tmp_path) == first
    assert marker.read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no staging folder left


def test_a_bundle_without_the_delay_is_left_to_the_stock_canvas(tmp_path):
    other = tmp_path / "build"
    other.mkdir()
    (other / "index-abc.js").write_text("const send = debounce(f, 150);")
    assert fast_canvas.patched_bundle(other, tmp_path / "cache") is None
