"""Atom documents in the arXiv export API's shape, shared by the parser and fetcher tests."""

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <id>https://arxiv.org/api/7kXm3pbP0</id>
  <title>arXiv Query: search_query=all:diffusion&amp;id_list=&amp;start={start}&amp;max_results={n}</title>
  <updated>2024-01-10T00:00:00Z</updated>
  <link href="https://arxiv.org/api/query?search_query=all:diffusion&amp;start={start}&amp;max_results={n}" type="application/atom+xml"/>
  <opensearch:itemsPerPage>{n}</opensearch:itemsPerPage>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
"""

ENTRY = """  <entry>
    <id>http://arxiv.org/abs/{id}v{v}</id>
    <title>{title}</title>
    <updated>2024-01-05T10:00:00Z</updated>
    <link href="https://arxiv.org/abs/{id}v{v}" rel="alternate" type="text/html"/>
    <link title="pdf" href="https://arxiv.org/pdf/{id}v{v}" rel="related" type="application/pdf"/>
    <summary>{summary}</summary>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.AI" scheme="http://arxiv.org/schemas/atom"/>
    <published>2024-01-02T18:59:59Z</published>
    <arxiv:comment>12 pages, 3 figures</arxiv:comment>
    <arxiv:primary_category term="cs.AI"/>
    <author>
      <name>Ada Lovelace</name>
      <arxiv:affiliation>Analytical Engines Ltd</arxiv:affiliation>
    </author>
    <author>
      <name>Alan Turing</name>
    </author>
  </entry>
"""

ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <id>https://arxiv.org/api/kvuntZ8c9a4Eq5CF7KY03nMug+Q</id>
  <title>arXiv Query: search_query=&amp;id_list=1234.12345&amp;start=0&amp;max_results=10</title>
  <updated>2024-01-10T00:00:00Z</updated>
  <link href="https://arxiv.org/api/query?search_query=&amp;id_list=1234.12345&amp;start=0&amp;max_results=10" type="application/atom+xml"/>
  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>
  <opensearch:totalResults>1</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345</summary>
    <updated>2024-01-10T00:00:00Z</updated>
    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345" rel="alternate" type="text/html"/>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>
</feed>
"""


def feed(ids: list[str], total: int | None = None, start: int = 0) -> bytes:
    """A results page with one entry per id."""
    entries = "".join(ENTRY.format(id=i, v=1, title=f"Paper {i}", summary=f"Abstract of {i}.") for i in ids)
    head = HEAD.format(start=start, n=len(ids), total=len(ids) if total is None else total)
    return (head + entries + "</feed>\n").encode()
