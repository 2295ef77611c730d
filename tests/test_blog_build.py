"""Drafts in real blog builds: an Eleventy 3 site (the blog's generator, npm) and Hugo
(Debian's package), over drafts made from the golden cases (English with chapters,
Mandarin, hostile metadata); and front matter read by js-yaml, the YAML 1.2 reader
Eleventy uses, exactly as python-frontmatter (YAML 1.1) reads it.

Eleventy and js-yaml are installed with npm into ~/.cache/draftcast-tests on first use;
Hugo comes from `apt-get install hugo` (.ci/run installs it). Without node, npm or hugo
the test is skipped and says what to install.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import frontmatter
import pytest

from pipeline import draft
from pipeline.config import load_settings
from tests.test_draft import GOLDEN, TODAY, YAML_HOSTILE, _load_case, _video, hostile_yaml_draft

pytestmark = pytest.mark.slow

ELEVENTY = "3.1.8"
NODE_PACKAGES = (f"@11ty/eleventy@{ELEVENTY}", "js-yaml@4")  # js-yaml 4: what Eleventy reads front matter with
POST_LAYOUT = """<!doctype html>
<html lang="{{ lang or 'en' }}"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><article>
<h1 class="title">{{ title }}</h1>
<time datetime="{{ page.date.toISOString().slice(0, 10) }}">{{ page.date.toISOString().slice(0, 10) }}</time>
<p class="speaker">{{ speaker }}</p>
{{ content | safe }}
</article></body></html>
"""


def _drafts(folder: Path) -> dict[str, frontmatter.Post]:
    """The golden cases as drafts in ``folder``, by case name."""
    folder.mkdir(parents=True)
    posts = {}
    for case in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        video, transcript = _load_case(case)
        text = draft.compose(video, transcript, settings=load_settings(GOLDEN / "draftcast.toml"), speaker=None,
                             today=TODAY)  # fmt: skip
        name = draft.file_name(video, frontmatter.loads(text)["date"])
        (folder / name).write_text(text, encoding="utf-8")
        posts[name.removesuffix(".md")] = frontmatter.loads(text)
    return posts


def _first_paragraph_text(post: frontmatter.Post) -> str:
    """A stretch of the first transcript paragraph, as the page shows it."""
    line = next(line for line in post.content.splitlines() if line.startswith("["))
    return line.split(") ", 1)[1][:40]


def _page_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """Eleventy and js-yaml, installed once into the test cache."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("the Eleventy build and the js-yaml reading need Node.js and npm (apt-get install nodejs npm)")
    prefix = Path.home() / ".cache" / "draftcast-tests" / f"eleventy-{ELEVENTY}"
    modules = prefix / "node_modules"
    if not (modules / ".bin" / "eleventy").exists() or not (modules / "js-yaml" / "package.json").exists():
        subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", *NODE_PACKAGES],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    return modules


@pytest.fixture(scope="session")
def eleventy(node_modules: Path) -> Path:
    return node_modules / ".bin" / "eleventy"


def test_an_eleventy_site_renders_every_draft(eleventy: Path, tmp_path: Path) -> None:
    site = tmp_path / "blog"
    (site / "_includes").mkdir(parents=True)
    (site / "_includes" / "post.njk").write_text(POST_LAYOUT)
    posts = _drafts(site / "posts")
    result = subprocess.run(
        [str(eleventy), "--input=.", "--output=_site", "--quiet"], cwd=site, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert len(posts) == 3
    for slug, post in posts.items():
        page = (site / "_site" / "posts" / slug / "index.html").read_text(encoding="utf-8")
        title = re.search(r'<h1 class="title">(.*?)</h1>', page, re.S)
        assert title and html.unescape(title.group(1)) == post["title"], slug
        assert f'<time datetime="{post["date"]}">' in page, slug
        text = _page_text(page)
        assert _first_paragraph_text(post).replace("&#123;", "{") in text, slug
        assert "<script>alert" not in page  # the hostile title and transcript stay text
    mandarin = next(p for s, p in posts.items() if "AbC_123" in s)
    assert "，" in _page_text((site / "_site" / "posts" / next(s for s in posts if "AbC_123" in s) / "index.html")
                              .read_text(encoding="utf-8"))  # fmt: skip
    assert mandarin["title"]


# Reads each front matter of a JSON list on stdin with js-yaml's default schema (as
# Eleventy's gray-matter does) and writes what it read, or why it could not, as JSON:
# one node for every case.
READ_WITH_JS_YAML = """
const yaml = require(process.argv[1]);
const heads = JSON.parse(require("fs").readFileSync(0, "utf8"));
const read = (head) => { try { return yaml.load(head); } catch (error) { return "js-yaml: " + error.message; } };
process.stdout.write(JSON.stringify(heads.map(read)));
"""


def _front_matter(text: str) -> str:
    return text.removeprefix("---\n").split("\n---\n", 1)[0]


@pytest.fixture(scope="module")
def js_yaml_reads(node_modules: Path) -> dict[str, tuple[object, dict[str, object]]]:
    """For each hostile value, what js-yaml and python-frontmatter read from its draft."""
    drafts = {value: hostile_yaml_draft(value) for value in YAML_HOSTILE}
    result = subprocess.run(
        ["node", "-e", READ_WITH_JS_YAML, str(node_modules / "js-yaml")],
        input=json.dumps([_front_matter(text) for text in drafts.values()]),
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    read = zip(drafts.items(), json.loads(result.stdout), strict=True)
    return {value: (js, frontmatter.loads(text).metadata) for (value, text), js in read}


@pytest.mark.parametrize("value", YAML_HOSTILE, ids=ascii)
def test_js_yaml_reads_the_front_matter_python_frontmatter_reads(
    value: str, js_yaml_reads: dict[str, tuple[object, dict[str, object]]]
) -> None:
    js, python = js_yaml_reads[value]
    assert js == python
    assert isinstance(js, dict) and js["title"] == js["summary"] == js["speaker"] == value and value in js["tags"]


# A few of them through a whole build: the page shows the title as it was written.
ELEVENTY_TITLES = ["1e3", "0o14", "08", ".inf", "1:20", "yes", "~", "2001-12-14 21:59:43.10 Z", "*alias &anchor",
                   "a\u2028b\u2029c\x85d", "tab\there"]  # fmt: skip


def test_eleventy_shows_titles_yaml_readers_disagree_on(eleventy: Path, tmp_path: Path) -> None:
    site = tmp_path / "blog"
    (site / "_includes").mkdir(parents=True)
    (site / "_includes" / "post.njk").write_text(POST_LAYOUT)
    (site / "posts").mkdir()
    pages = {}
    for index, title in enumerate(ELEVENTY_TITLES):
        text = hostile_yaml_draft(title, video_id=f"v{index}")
        name = draft.file_name(_video(id=f"v{index}", title=title), frontmatter.loads(text)["date"])
        (site / "posts" / name).write_text(text, encoding="utf-8")
        pages[title] = site / "_site" / "posts" / name.removesuffix(".md") / "index.html"
    result = subprocess.run(
        [str(eleventy), "--input=.", "--output=_site", "--quiet"], cwd=site, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    for title, page in pages.items():
        shown = re.search(r'<h1 class="title">(.*?)</h1>', page.read_text(encoding="utf-8"), re.S)
        assert shown and html.unescape(shown.group(1)) == title


@pytest.fixture(scope="session")
def hugo() -> str:
    found = shutil.which("hugo")
    if found is None:
        pytest.skip("the Hugo build needs hugo (apt-get install hugo)")
    return found


def test_hugo_leaves_drafts_out_unless_asked(hugo: str, tmp_path: Path) -> None:
    site = tmp_path / "hugo"
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "hugo.toml").write_text('baseURL = "http://127.0.0.1/"\ntitle = "Blog"\n')
    (site / "layouts" / "_default" / "single.html").write_text("<h1>{{ .Title }}</h1>{{ .Content }}")
    (site / "layouts" / "_default" / "list.html").write_text("{{ range .Pages }}{{ .Title }}{{ end }}")
    posts = _drafts(site / "content" / "posts")
    published = site / "content" / "posts" / "published.md"
    published.write_text("---\ntitle: Published\ndate: '2025-01-01'\ndraft: false\n---\nDone.\n")

    def build(*flags: str) -> set[str]:
        shutil.rmtree(site / "public", ignore_errors=True)
        result = subprocess.run([hugo, "--quiet", *flags], cwd=site, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return {p.parent.name for p in (site / "public" / "posts").glob("*/index.html")}

    assert build() == {"published"}  # draft: true is left out of a normal build
    with_drafts = build("--buildDrafts")
    assert with_drafts == {"published", *(slug.lower() for slug in posts)}
    for slug, post in posts.items():
        page = (site / "public" / "posts" / slug.lower() / "index.html").read_text(encoding="utf-8")
        assert html.unescape(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)) == post["title"]  # type: ignore[union-attr]
