"""The tokenizer playground (tools/playground): its JSON API, its failure handling, and the page in Chromium.

API tests run servers in this process (port 0, loopback) around implementations written to tmp_path: a correct one
(the reference), a deliberately wrong one, one that raises, one that hangs. The end-to-end test drives the page in
the system's headless Chromium through selenium; it is skipped, saying why, where Chromium or chromedriver is not
installed (CI installs both and sets CS336_REQUIRE_BROWSER=1, which turns that skip into a failure: see .ci/run).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest

from bpe_harness.plugin.divergence import first_divergence
from bpe_harness.settings import ROOT, cache_dir
from bpe_harness.tools.playground import server as pg
from bpe_harness.tools.playground.__main__ import build, parse_args

SCREENSHOT_COPY = cache_dir() / "playground-screenshot.png"

WRONG = '''
"""Deliberately wrong: only the first 100 merges are applied."""
from staff.reference.adapters import run_train_bpe  # noqa: F401
from staff.reference.tokenizer import Tokenizer


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Tokenizer(vocab, list(merges)[:100], special_tokens, pattern=pattern)
'''

MISBEHAVING = """
from staff.reference.adapters import run_train_bpe  # noqa: F401
from staff.reference.tokenizer import Tokenizer


class Misbehaving(Tokenizer):
    def encode(self, text):
        if "raise" in text:
            raise ValueError("this tokenizer cannot read the word raise")
        if "hang" in text:
            while True:
                pass
        return super().encode(text)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Misbehaving(vocab, merges, special_tokens, pattern=pattern)
"""

OUT_OF_VOCAB = """
from staff.reference.adapters import run_train_bpe  # noqa: F401
from staff.reference.tokenizer import Tokenizer


class Overflowing(Tokenizer):
    def encode(self, text):
        return super().encode(text) + [10**6]


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Overflowing(vocab, merges, special_tokens, pattern=pattern)
"""


@contextmanager
def serving(impl: str, timeout: float = 5.0, reference: bool = False, vocabulary=None):
    playground = pg.Playground(impl, vocabulary or pg.default_vocabulary(), timeout=timeout, reference=reference)
    server = pg.make_server(playground)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        playground.close()


def request(server, method: str, path: str, body: bytes | None = None, host: str | None = None):
    """(status, decoded JSON or raw bytes); the path is sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host or f"127.0.0.1:{server.server_port}")
        if body is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body is not None:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered before reading everything (a refused huge paste)
        response = conn.getresponse()
        data = response.read()
        if response.getheader("Content-Type", "").startswith("application/json"):
            return response.status, json.loads(data)
        return response.status, data
    finally:
        conn.close()


def tokenize(server, text: str, encodings=()):
    status, result = request(
        server, "POST", "/api/tokenize", json.dumps({"text": text, "encodings": list(encodings)}).encode()
    )
    assert status == 200, result
    return {c["key"]: c for c in result["columns"]}, result


@pytest.fixture(scope="module")
def reference_server():
    with serving("reference") as server:
        yield server


@pytest.fixture
def adapters_file(tmp_path):
    def write(source: str) -> str:
        path = tmp_path / f"adapters_{abs(hash(source))}.py"
        path.write_text(source, encoding="utf-8")
        return str(path)

    return write


# --- API ----------------------------------------------------------------------------------------------------------


def test_correct_tokenizer_matches_expected_with_special_as_one_token(reference_server):
    text = "Once upon a time<|endoftext|> the  dog\n\tran."
    columns, result = tokenize(reference_server, text, ["o200k_base", "cl100k_base"])
    impl, expected = columns["impl"], columns["expected"]
    assert impl["error"] is None, impl
    assert [t["id"] for t in impl["tokens"]] == [t["id"] for t in expected["tokens"]]
    assert result["divergence"] is None
    assert "".join(t["text"] for t in impl["tokens"]) == text
    specials = [t for t in impl["tokens"] if t["special"]]
    assert [t["text"] for t in specials] == ["<|endoftext|>"], "a special token must be one token"
    assert impl["ratio"] == pytest.approx(len(text.encode()) / impl["count"])
    for name in ("o200k_base", "cl100k_base"):
        real = columns[name]
        assert real["error"] is None and [t["text"] for t in real["tokens"] if t["special"]] == ["<|endoftext|>"]
        assert real["count"] < impl["count"], "a 200k / 100k vocab compresses better than a 1k one"


def test_wrong_tokenizer_divergence_in_graded_suite_words(adapters_file):
    text = "the little dog named Max"
    with serving(adapters_file(WRONG)) as server:
        columns, result = tokenize(server, text)
    got = [t["id"] for t in columns["impl"]["tokens"]]
    want = [t["id"] for t in columns["expected"]["tokens"]]
    position = first_divergence(got, want)
    assert position is not None
    assert result["divergence"]["position"] == position
    message = result["divergence"]["message"]
    assert message.startswith(f"encode(): token ids differ at position {position} of {len(want)} expected")
    assert "text offset" in message and "expected:" in message and "got:" in message
    assert columns["impl"]["tokens"][position].get("first") and columns["expected"]["tokens"][position].get("first")
    assert all(not t.get("diverges") for t in columns["impl"]["tokens"][:position])
    assert columns["impl"]["tokens"][position]["diverges"]


def test_ids_outside_the_vocab_are_flagged(adapters_file):
    with serving(adapters_file(OUT_OF_VOCAB)) as server:
        columns, result = tokenize(server, "a dog")
    impl, expected = columns["impl"], columns["expected"]
    assert impl["tokens"][-1]["unknown"] and impl["tokens"][-1]["id"] == 10**6
    assert "ids not in the vocab: [1000000]" in impl["note"]
    assert result["divergence"]["position"] == expected["count"]
    assert f"({expected['count'] + 1} produced)" in result["divergence"]["message"]


def test_empty_input(reference_server):
    columns, result = tokenize(reference_server, "", ["o200k_base"])
    for key in ("impl", "expected", "o200k_base"):
        assert columns[key]["error"] is None and columns[key]["count"] == 0 and columns[key]["ratio"] is None
    assert result["divergence"] is None and result["text_bytes"] == 0


def test_lone_surrogate_replaced_with_a_notice(reference_server):
    body = b'{"text": "a\\ud800b", "encodings": ["o200k_base"]}'  # valid JSON, not valid Unicode text
    status, result = request(reference_server, "POST", "/api/tokenize", body)
    assert status == 200, result
    assert any("surrogate" in n for n in result["notices"])
    impl = next(c for c in result["columns"] if c["key"] == "impl")
    assert impl["error"] is None
    assert b"".join(bytes.fromhex(t["hex"]) for t in impl["tokens"]) == "a\ufffdb".encode()


def test_huge_paste_refused_and_server_keeps_running(reference_server):
    body = json.dumps({"text": "x" * (pg.MAX_BODY + 10)}).encode()
    status, result = request(reference_server, "POST", "/api/tokenize", body)
    assert status == 413 and "too big" in result["error"] and "1.0 MB" in result["error"]
    columns, _ = tokenize(reference_server, "still here")
    assert columns["impl"]["count"] > 0


def test_bad_request_gets_a_message(reference_server):
    status, result = request(reference_server, "POST", "/api/tokenize", b"not json")
    assert status == 400 and "expected JSON" in result["error"]
    status, result = request(reference_server, "POST", "/api/tokenize", b'{"text": 3}')
    assert status == 400 and "text must be a string" in result["error"]


def test_raising_and_hanging_implementation_reported_and_server_alive(adapters_file):
    with serving(adapters_file(MISBEHAVING), timeout=1.0) as server:
        columns, _ = tokenize(server, "please raise")
        assert "ValueError: this tokenizer cannot read the word raise" in columns["impl"]["error"]
        assert columns["expected"]["count"] > 0, "the other columns still work"
        assert ", in encode\n" in columns["impl"]["detail"], "the worker's traceback shows where it raised"

        start = time.monotonic()
        columns, _ = tokenize(server, "now hang")
        assert time.monotonic() - start < 15
        assert "did not finish within" in columns["impl"]["error"]
        assert "new worker" in columns["impl"]["error"]

        columns, result = tokenize(server, "all good again")
        assert columns["impl"]["error"] is None and result["divergence"] is None


def test_only_static_files_are_served(reference_server):
    status, page = request(reference_server, "GET", "/")
    assert status == 200 and b"Tokenizer playground" in page
    status, script = request(reference_server, "GET", "/static/app.js")
    assert status == 200 and b"/api/tokenize" in script
    for path in (
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/../pyproject.toml",
        "/static/../../../pyproject.toml",
        "/static/",
        "/static//etc/passwd",
        "/etc/passwd",
        "/static/..%2fserver.py",
        "/server.py",
    ):
        status, body = request(reference_server, "GET", path)
        assert status == 404, f"{path} served: {body[:80]!r}"


def test_loopback_only(reference_server):
    assert reference_server.server_address[0] == "127.0.0.1"
    status, result = request(reference_server, "GET", "/api/info", host="evil.example:80")
    assert status == 403 and "127.0.0.1" in result["error"]


def test_missing_or_malformed_vocab_shown_in_page(tmp_path):
    with pytest.raises(pg.PlaygroundError, match="does not exist"):
        pg.load_vocabulary(tmp_path / "nope.json", tmp_path / "nope2.json", [])
    (tmp_path / "vocab.json").write_text('{"0": "zz"}')
    (tmp_path / "merges.json").write_text("[]")
    with pytest.raises(pg.PlaygroundError, match="not in the kit's format"):
        pg.load_vocabulary(tmp_path / "vocab.json", tmp_path / "merges.json", [])
    (tmp_path / "vocab.json").write_text(json.dumps({str(b): bytes([b]).hex() for b in range(256)}))
    (tmp_path / "merges.json").write_text(json.dumps([["61", "62"]]))
    with pytest.raises(pg.PlaygroundError, match=r"merge #0 .*result b'ab' is not in the vocab"):
        pg.load_vocabulary(tmp_path / "vocab.json", tmp_path / "merges.json", [])

    playground = build(
        parse_args(
            ["--impl", "reference", "--vocab", str(tmp_path / "nope.json"), "--merges", str(tmp_path / "merges.json")]
        )
    )
    try:
        info = playground.info()
        assert len(info["problems"]) == 1 and "nope.json does not exist" in info["problems"][0]
        assert "snapshot" in info["vocab_source"], "falls back to the kit's vocab so the page still works"
    finally:
        playground.close()


def test_vocab_files_in_the_kit_format_are_used(tmp_path):
    vocabulary = pg.default_vocabulary()
    (tmp_path / "v.json").write_text(json.dumps({str(i): t.hex() for i, t in vocabulary.vocab.items()}))
    (tmp_path / "m.json").write_text(json.dumps([[a.hex(), b.hex()] for a, b in vocabulary.merges]))
    loaded = pg.load_vocabulary(tmp_path / "v.json", tmp_path / "m.json", ["<|endoftext|>"])
    assert loaded.vocab == vocabulary.vocab and loaded.merges == vocabulary.merges


def test_train_compares_with_the_reference_trained_on_the_same_data(adapters_file):
    corpus = ROOT / "tests" / "fixtures" / "corpora" / "ties_tuple_not_concat.txt"
    playground = build(parse_args(["--impl", adapters_file(WRONG), "--train", str(corpus), "--vocab-size", "270"]))
    try:
        info = playground.info()
        assert info["problems"] == [] and info["notes"] == ["your merges equal the reference's"]
        assert info["reference"] and "trained on" in info["vocab_source"]
    finally:
        playground.close()


def test_command_prints_the_url_and_serves_the_page():
    proc = subprocess.Popen(
        [sys.executable, "-m", "bpe_harness.tools.playground", "--impl", "reference", "--no-reference"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        line = ""
        while "http://" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, proc.stderr.read() if proc.poll() is not None else line
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the page in a real browser -----------------------------------------------------------------------------------


def _chromium() -> tuple[str, str] | str:
    """(chromium, chromedriver) paths, or why the browser test cannot run."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (uv sync --all-groups installs the staff group)"
    browser = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        return (
            "no Chromium" if not browser else "no chromedriver"
        ) + " installed: apt-get install chromium chromium-driver (Debian) to run the end-to-end playground test"
    return browser, driver


@pytest.fixture(scope="module")
def browser():
    found = _chromium()
    if isinstance(found, str):
        if os.environ.get("CS336_REQUIRE_BROWSER") == "1":  # CI sets it: there, a missing browser is a failure
            pytest.fail(f"CS336_REQUIRE_BROWSER=1 but {found}")
        pytest.skip(found)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _type_and_wait(driver, text: str) -> None:
    """Type `text` into the page and wait until the tokens shown are those of exactly this text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.renderedText !== undefined"))
    box = driver.find_element(By.ID, "text")
    box.clear()
    box.send_keys(text)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.renderedText") == text)


def _rendered(driver, key: str) -> list[tuple[str, str]]:
    """(data-id, title) of every token in column `key`, as the page shows them."""
    return driver.execute_script(
        "return [...document.querySelectorAll(`.column[data-key='${arguments[0]}'] .tok`)]"
        ".map(t => [t.dataset.id, t.title, t.className])",
        key,
    )


@pytest.mark.slow
def test_page_in_headless_chromium(browser, adapters_file, tmp_path):
    from selenium.webdriver.common.by import By

    text = "The cat sat.<|endoftext|>A dog  ran\n"
    with serving(adapters_file(WRONG), reference=True) as server:
        expected_cols, expected = tokenize(server, text, ["o200k_base"])
        browser.get(f"http://127.0.0.1:{server.server_port}/")
        _type_and_wait(browser, text)
        impl = _rendered(browser, "impl")
        want = _rendered(browser, "expected")
        assert [int(i) for i, _, _ in impl] == [t["id"] for t in expected_cols["impl"]["tokens"]]
        assert [int(i) for i, _, _ in want] == [t["id"] for t in expected_cols["expected"]["tokens"]]
        assert impl and all(title.startswith(f"id {i} · bytes ") for i, title, _ in impl), "hover shows id and bytes"
        assert sum("special" in c for _, _, c in want) == 1
        assert any("first" in c for _, _, c in impl), "the first divergence is marked"
        panel = browser.find_element(By.ID, "divergence").text
        assert "token ids differ at position" in panel, panel
        columns_text = browser.find_element(By.ID, "columns").text
        assert "·" in columns_text and "↵" in columns_text, "whitespace is made visible"
        assert "bytes/token" in columns_text
        shot = tmp_path / "playground.png"
        browser.save_screenshot(str(shot))
        SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT_COPY)
        print(f"screenshot: {shot} (copy: {SCREENSHOT_COPY})")
        assert shot.stat().st_size > 10_000

        from selenium.webdriver.support.ui import WebDriverWait

        browser.execute_script(
            "const box = document.querySelector('#text'); box.value = 'x'.repeat(arguments[0]);"
            "box.dispatchEvent(new Event('input'));",
            pg.MAX_BODY + 1,
        )
        WebDriverWait(browser, 10).until(lambda d: "too big" in d.find_element(By.ID, "status").text)
        assert _rendered(browser, "impl"), "the last tokens stay on the page"
