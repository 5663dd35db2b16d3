"""The web console in a real browser: Debian's headless Chromium driven by Selenium through
Debian's chromium-driver (explicit paths: nothing is downloaded), against a live kato-server whose
patterns and session were made over grpcio. The page lists the patterns, pages, sorts, searches,
shows a session's STM and its predictions as they stream in, deletes a pattern (gone over grpcio
too), asks for an API key when the server wants one, and shows hostile names as inert text.
Under CI=true a browser that will not start fails the run (conftest.unavailable)."""
import json
import os
import pathlib
import shutil
import time

import grpc
import pytest

from kato_client._pb.kato.v2 import knowledge_pb2, knowledge_pb2_grpc, observe_pb2, observe_pb2_grpc
from kato_client._pb.kato.v2 import predict_pb2, predict_pb2_grpc, session_pb2, session_pb2_grpc

from conftest import ROOT, start_kato_server, unavailable
from grpch2_support import make_pki

CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
NODE = "web"
XSS_SYMBOL = "<img src=x onerror=window.__xss=1>"
XSS_SCRIPT = "<script>window.__xss=2</script>"
XSS_META = "<img src=y onerror=window.__xss=3>"
SCREENSHOT = ROOT / "docs/console.png"
ARTIFACTS = pathlib.Path(os.environ.get("KATO_TEST_ARTIFACTS", "/tmp/kato-test-artifacts"))
KEYS = [{"principal": "admin", "key": "browser-admin", "roles": ["admin"], "nodes": ["*"]}]


def browser(*extra_args):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (Tests/python/requirements.txt; scripts/install-deps --python)")
    if not (shutil.which(CHROMIUM) and shutil.which(DRIVER)):
        unavailable("Debian chromium and chromium-driver are not installed (scripts/install-deps --python)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1100", "--disable-extensions", "--no-first-run", *extra_args):
        options.add_argument(arg)
    try:
        return webdriver.Chrome(service=Service(DRIVER), options=options)
    except Exception as e:  # noqa: BLE001 — any failure to start is the same finding
        unavailable(f"headless Chromium will not start: {e}")


class Api:
    def __init__(self, address, metadata=(), channel=None):
        self.channel = channel or grpc.insecure_channel(address)
        self.md = metadata
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.observe = observe_pb2_grpc.ObserveServiceStub(self.channel)
        self.predict = predict_pb2_grpc.PredictServiceStub(self.channel)
        self.kb = knowledge_pb2_grpc.KnowledgeBaseServiceStub(self.channel)

    def session(self):
        return self.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id=NODE), metadata=self.md).session_id

    def observe_strings(self, sid, strings, emotives=None, metadata=None):
        o = observe_pb2.ObserveRequest(session_id=sid, strings=strings)
        for k, v in (emotives or {}).items():
            o.emotives[k] = v
        for k, v in (metadata or {}).items():
            o.metadata[k].string_value = v
        self.observe.Observe(o, metadata=self.md)

    def learn(self, sid, events, times=1, **extra):
        name = ""
        for _ in range(times):
            for i, e in enumerate(events):
                self.observe_strings(sid, e, **(extra if i == 0 else {}))
            name = self.observe.Learn(observe_pb2.LearnRequest(session_id=sid), metadata=self.md).pattern_name
        return name


def wait(driver, condition, timeout=30, what="the page"):
    """Polls `condition` (a list redrawn while it was read is read again)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: condition(d), message=f"waiting for {what}")


def rows(driver):
    from selenium.webdriver.common.by import By
    return driver.find_elements(By.CSS_SELECTOR, "#pattern-rows tr")


def row_names(driver):
    from selenium.webdriver.common.by import By
    return [r.find_element(By.CSS_SELECTOR, "td.name").text for r in rows(driver)]


def page_text(driver):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.ID, "kb-page").text


@pytest.fixture(scope="module")
def live(binaries):
    server = start_kato_server(binaries)
    api = Api(server.address)
    sid = api.session()
    learned = {}
    # 30 patterns s<i> → t<i> with frequency 1 + i % 4, then one with hostile names.
    for i in range(30):
        learned[api.learn(sid, [[f"s{i}"], [f"t{i}", "common"]], times=1 + i % 4)] = i
    hostile = api.learn(sid, [[XSS_SYMBOL, "common"], [XSS_SCRIPT]], emotives={"<b>joy</b>": 0.5},
                        metadata={XSS_META: XSS_SCRIPT})
    driver = browser()
    yield server, api, driver, learned, hostile
    driver.quit()
    api.channel.close()
    server.stop()


def open_console(driver, server):
    from selenium.webdriver.common.by import By
    driver.get(f"http://{server.address}/console/?node={NODE}")
    wait(driver, lambda d: len(rows(d)) > 0, what="the pattern rows")
    return By


def test_console_lists_pages_sorts_and_searches_patterns(live):
    server, api, driver, learned, hostile = live
    By = open_console(driver, server)
    assert len(rows(driver)) == 25 and page_text(driver) == "patterns 1–25 of 31"
    first_page = row_names(driver)
    frequencies = [int(r.find_elements(By.TAG_NAME, "td")[3].text) for r in rows(driver)]
    assert frequencies == sorted(frequencies, reverse=True) and frequencies[0] == 4
    assert driver.find_element(By.ID, "s-patterns").text == "31"
    driver.find_element(By.ID, "kb-next").click()
    wait(driver, lambda d: page_text(d) == "patterns 26–31 of 31", what="the second page")
    second_page = row_names(driver)
    assert len(second_page) == 6 and not set(first_page) & set(second_page)
    assert set(first_page) | set(second_page) == set(learned) | {hostile}
    assert driver.find_element(By.ID, "kb-next").get_attribute("disabled")
    driver.find_element(By.ID, "kb-prev").click()
    wait(driver, lambda d: row_names(d) == first_page, what="the first page again")
    # Sorted by name.
    from selenium.webdriver.support.ui import Select
    Select(driver.find_element(By.ID, "kb-order")).select_by_value("PATTERN_ORDER_NAME")
    wait(driver, lambda d: row_names(d) == sorted(set(learned) | {hostile})[:25], what="the name order")
    # Search by symbol.
    driver.find_element(By.ID, "kb-symbol").send_keys("t7")
    driver.find_element(By.ID, "kb-search").click()
    t7 = next(n for n, i in learned.items() if i == 7)
    wait(driver, lambda d: row_names(d) == [t7], what="the search result")
    assert page_text(driver) == "patterns 1–1 of 1"
    driver.find_element(By.ID, "kb-symbol").clear()
    driver.find_element(By.ID, "kb-search").click()
    wait(driver, lambda d: len(rows(d)) == 25, what="the unfiltered list")


def test_hostile_names_are_shown_as_inert_text(live):
    server, api, driver, learned, hostile = live
    By = open_console(driver, server)
    driver.find_element(By.ID, "kb-prefix").send_keys(hostile[:14])
    driver.find_element(By.ID, "kb-search").click()
    wait(driver, lambda d: row_names(d) == [hostile], what="the hostile pattern")
    rows(driver)[0].click()
    wait(driver, lambda d: not d.find_element(By.ID, "pattern-detail").get_attribute("hidden"), what="the detail")
    table = driver.find_element(By.ID, "knowledge").text
    for text in (XSS_SYMBOL, XSS_SCRIPT, XSS_META, "<b>joy</b>"):
        assert text in table, text
    # Rendered as text: no element was made from the strings, and nothing ran.
    assert driver.find_elements(By.CSS_SELECTOR, "#knowledge img, #knowledge script, #knowledge b") == []
    assert driver.execute_script("return window.__xss === undefined")
    from selenium.common.exceptions import NoAlertPresentException
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text


def test_session_stm_and_predictions_update_live(live):
    server, api, driver, learned, hostile = live
    By = open_console(driver, server)
    sid = api.session()
    api.observe_strings(sid, ["s3"])
    click_session(driver, sid)
    wait(driver, lambda d: d.find_element(By.ID, "sd-stm").text == "s3", what="the session's STM")
    assert driver.find_elements(By.CSS_SELECTOR, "#sd-predictions tr") == []
    # Observed elsewhere: the prediction row arrives through the stream, without a reload.
    api.observe_strings(sid, ["t3"])
    t3 = next(n for n, i in learned.items() if i == 3).removeprefix("PTRN|")  # predictions name the bare hash
    wait(driver, lambda d: t3 in d.find_element(By.ID, "sd-predictions").text, what="the streamed prediction")
    assert "t3" in driver.find_element(By.ID, "sd-stm").text
    assert driver.find_element(By.ID, "sd-live").text == "live"


def test_deleting_a_pattern_in_the_console_deletes_it(live):
    server, api, driver, learned, hostile = live
    By = open_console(driver, server)
    victim = next(n for n, i in learned.items() if i == 11)
    driver.find_element(By.ID, "kb-prefix").send_keys(victim[:16])
    driver.find_element(By.ID, "kb-search").click()
    wait(driver, lambda d: row_names(d) == [victim], what="the pattern to delete")
    rows(driver)[0].find_element(By.CSS_SELECTOR, "button.delete").click()
    wait(driver, lambda d: _alert(d), what="the confirmation").accept()
    wait(driver, lambda d: page_text(d) == "no patterns", what="the pattern to go")
    assert driver.find_element(By.ID, "s-patterns").text == "30"
    with pytest.raises(grpc.RpcError) as e:
        api.predict.GetPattern(predict_pb2.GetPatternRequest(node_id=NODE, name=victim))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    page = api.kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=NODE, page_size=100))
    assert victim not in [p.name for p in page.patterns] and page.total_size == 30
    # Keep the screenshot of the full console for the README (and as the run's artifact).
    driver.find_element(By.ID, "kb-prefix").clear()
    driver.find_element(By.ID, "kb-search").click()
    wait(driver, lambda d: len(rows(d)) == 25, what="the full list")
    sid = api.session()
    for e in (["s5"], ["t5"]):
        api.observe_strings(sid, e)
    click_session(driver, sid)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#sd-predictions tr"), what="the session's predictions")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "console.png"))
    if os.environ.get("KATO_UPDATE_SCREENSHOT"):
        driver.save_screenshot(str(SCREENSHOT))


def click_session(driver, sid):
    """Clicks the session's row once the 2-second status poll lists it (retried if the list was
    redrawn between finding the row and clicking it)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def clicked(d):
        try:
            for r in d.find_elements(By.CSS_SELECTOR, "#session-rows tr"):
                if r.text.startswith(sid):
                    r.click()
                    return True
        except StaleElementReferenceException:
            pass
        return False
    wait(driver, clicked, what="the session in the list")


def _alert(driver):
    try:
        return driver.switch_to.alert
    except Exception:  # noqa: BLE001 — not there yet
        return None


def test_console_asks_for_an_api_key_when_the_server_needs_one(binaries, tmp_path, live):
    _, _, driver, _, _ = live
    keyfile = tmp_path / "keys.json"
    keyfile.write_text(json.dumps(KEYS))
    server = start_kato_server(binaries, "--in-memory", "--auth-keys", str(keyfile))
    try:
        api = Api(server.address, (("authorization", "Bearer browser-admin"),))
        name = api.learn(api.session(), [["k1"], ["k2"]])
        from selenium.webdriver.common.by import By
        driver.get(f"http://{server.address}/console/?node={NODE}")
        driver.execute_script("sessionStorage.clear()")
        driver.get(f"http://{server.address}/console/?node={NODE}")
        wait(driver, lambda d: not d.find_element(By.ID, "auth").get_attribute("hidden"), what="the key form")
        assert "unauthenticated" in driver.find_element(By.ID, "error").text
        assert rows(driver) == []
        driver.find_element(By.ID, "api-key").send_keys("browser-admin")
        driver.find_element(By.CSS_SELECTOR, "#auth button").click()
        wait(driver, lambda d: row_names(d) == [name], what="the patterns after the key")
        assert driver.execute_script("return sessionStorage.getItem('kato-console-api-key')") == "browser-admin"
        api.channel.close()
    finally:
        server.stop()


def test_pattern_pages_are_connect_gets_the_browser_revalidates(live):
    """The console reads pattern pages and statistics with Connect GET, which the browser keeps:
    the same page again is revalidated (If-None-Match → 304), so only headers travel (Resource
    Timing: a revalidated entry's transferSize is its headers', less than the kept body; a full
    answer's is more than its body). (Over plaintext: Chromium keeps nothing from a server whose
    certificate it was told to ignore.)"""
    server, api, driver, learned, hostile = live
    By = open_console(driver, server)

    def entries(d, method):
        return d.execute_script(f"return performance.getEntriesByType('resource')"
                                f".filter(e => e.name.includes('/{method}?connect=v1&encoding=json&message='))"
                                f".map(e => [e.transferSize, e.encodedBodySize])")
    assert entries(driver, "GetKnowledgeBaseStatistics"), "statistics are read with GET"
    first = entries(driver, "ListPatterns")
    assert first, "pattern pages are read with GET"
    driver.find_element(By.ID, "kb-search").click()
    wait(driver, lambda d: len(entries(d, "ListPatterns")) > len(first), what="the page read again")
    transfer, body = entries(driver, "ListPatterns")[-1]
    assert 0 < transfer < body, (transfer, body)


def test_console_over_tls_travels_on_http2(binaries, tmp_path_factory):
    """A browser reaching a TLS server picks h2 by ALPN and sends every request of the page on
    HTTP/2 streams: the page, its assets, status.json (GET routes) and the API calls, the live
    prediction stream included."""
    pki = make_pki(tmp_path_factory.mktemp("browser-pki"))
    server = start_kato_server(binaries, "--tls-cert", str(pki["server_pem"]), "--tls-key", str(pki["server_key"]))
    target = f"localhost:{server.port}"
    api = Api(target, channel=grpc.secure_channel(target, grpc.ssl_channel_credentials(pki["ca_pem"].read_bytes())))
    driver = None
    try:
        sid = api.session()
        name = api.learn(sid, [["tls-a"], ["tls-b", "common"]], times=2)
        driver = browser("--ignore-certificate-errors")  # the test CA is not the browser's
        driver.get(f"https://{target}/console/?node={NODE}")
        wait(driver, lambda d: name in row_names(d), what="the pattern learned over gRPC")
        watched = api.session()
        api.observe_strings(watched, ["tls-a"])
        click_session(driver, watched)
        from selenium.webdriver.common.by import By
        wait(driver, lambda d: d.find_element(By.ID, "sd-stm").text == "tls-a", what="the session's STM")
        api.observe_strings(watched, ["tls-b"])
        wait(driver, lambda d: name.removeprefix("PTRN|") in d.find_element(By.ID, "sd-predictions").text,
             what="the streamed prediction")
        entries = driver.execute_script(
            "return performance.getEntries().filter(e => e.nextHopProtocol !== undefined)"
            ".map(e => [e.name, e.nextHopProtocol])")
        protocols = {url.split(target, 1)[1].split("?")[0]: proto for url, proto in entries if target in url}
        for path in ("/console/", "/console/console.js", "/console/console.css", "/console/status.json",
                     "/kato.v2.KnowledgeBaseService/ListPatterns"):
            assert protocols.get(path) == "h2", (path, protocols)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "console-tls-h2.png"))
    finally:
        if driver:
            driver.quit()
        api.channel.close()
        server.stop()
