"""`paperboy map`: build the map of the field, place new papers into it, print its topics or draw it."""

from __future__ import annotations

from pathlib import Path

import click

from paperboy.cli.common import EXIT_FAILED, EXIT_OK, emit, home_option, service


@click.command(name="map")
@home_option
@click.option("--rebuild", is_flag=True, help="Lay out every paper again (minutes); old positions and topics change.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write a labelled picture of the map (PNG, SVG or PDF by the file's extension).",
)
@click.option("--json", "as_json", is_flag=True, help='Print the topics: [{"id", "label", "size", "momentum"}].')
@click.option("--seed", type=click.IntRange(min=0), help="Make the layout reproducible (runs UMAP on one core).")
@click.pass_context
def map_command(ctx, rebuild, out, as_json, seed) -> None:
    """The map of the field: a 2-D layout of every embedded paper, clustered into labelled topics.

    The first run (or --rebuild) lays out every paper; later runs, like the worker, only place new
    papers among their nearest neighbours, so the map does not move under its readers.
    """
    from paperboy.service.maps import MapBusy, MapMissing

    pb = service(ctx)
    try:
        if rebuild or not pb.map.exists():
            if not as_json and pb.indexes.dense_ready():
                click.echo("laying out every paper (a few minutes for 75k papers)...", err=True)
            rep = pb.map.build(seed=seed)
            if not as_json:
                click.echo(
                    f"mapped {rep.papers:,} papers into {rep.fine_topics} topics "
                    f"({rep.broad_topics} broad) in {rep.seconds['total']:.1f} s"
                )
        else:
            placed = pb.map.update()
            if not as_json:
                click.echo(f"placed {placed:,} new papers on the map" if placed else "the map is up to date")
        if out is not None:
            from paperboy.service.map_charts import draw_map

            try:
                draw_map(pb.map.data(), out)
            except (OSError, ValueError) as exc:  # no such folder, not writable, a format matplotlib lacks
                click.echo(f"error: cannot write {out}: {exc}", err=True)
                ctx.exit(EXIT_FAILED)
            if not as_json:
                click.echo(f"wrote {out}")
        if as_json:
            emit([t.public() for t in pb.map.topics()])
    except (MapMissing, MapBusy) as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_FAILED)
    ctx.exit(EXIT_OK)
