"""The resource tree on a large mesh is lazy at every level (issue 15): a namespace's kind groups
appear when it is expanded, a group's objects when it is expanded and then a page at a time, the
next page when the cursor reaches the "… more" line; go_to reaches an object on a later page."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Tree
from tui_kit import make_app, settle, wait_for

from meshtui.tui.screens.resources import LEAF_PAGE


def _mesh(folder: Path, per_ns: int) -> str:
    docs = []
    for ns in ("alpha", "beta"):
        for i in range(per_ns):
            docs.append(f"apiVersion: v1\nkind: Service\nmetadata:\n  name: s-{i:04d}\n  namespace: {ns}\n"
                        f"spec:\n  selector:\n    app: s-{i:04d}\n  ports:\n  - name: http\n    port: 80\n")
    (folder / "mesh.yaml").write_text("---\n".join(docs))
    return str(folder)


def _labels(node) -> list[str]:
    return [str(c.label) for c in node.children]


async def test_groups_and_pages_are_added_as_they_are_reached(tmp_path):
    per_ns = 2 * LEAF_PAGE + 50
    app = make_app(_mesh(tmp_path, per_ns), analyze=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        tree = screen.query_one(Tree)
        alpha, beta = tree.root.children
        assert str(alpha.label).startswith("alpha") and alpha.is_expanded
        # beta's groups wait until it is opened
        assert len(beta.children) == 0 and not beta.is_expanded
        services = alpha.children[0]
        assert len(services.children) == LEAF_PAGE + 1
        assert _labels(services)[-1].startswith(f"… {per_ns - LEAF_PAGE} more")
        # the cursor on "… more" brings the next page
        tree.move_cursor(services.children[-1])
        await wait_for(pilot, lambda: len(services.children) == 2 * LEAF_PAGE + 1, what="the second page")
        assert _labels(services)[LEAF_PAGE] == f"s-{LEAF_PAGE:04d}"
        assert _labels(services)[-1].startswith("… 50 more")
        # opening beta adds its group; go_to reaches an object on its last page
        target = ("Service", "beta", f"s-{per_ns - 3:04d}")
        screen.go_to(target)
        await wait_for(pilot, lambda: screen.selected == target and tree.cursor_node is not None
                       and tree.cursor_node.data == target, what="the object on a later page")
        beta_services = beta.children[0]
        assert len(beta_services.children) == per_ns and beta.is_expanded and beta_services.is_expanded


async def test_a_small_mesh_is_built_whole(tmp_path):
    app = make_app(_mesh(tmp_path, 20), analyze=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        tree = app.screen.query_one(Tree)
        assert [len(ns.children[0].children) for ns in tree.root.children] == [20, 20]


async def test_filter_typed_a_key_at_a_time_lists_what_a_fresh_filter_lists(tmp_path):
    from meshtui.tui.screens.base import make_matcher

    app = make_app(_mesh(tmp_path, 120), analyze=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        every = app.workspace.objects()

        def expected(text: str) -> set:
            match = make_matcher(text)
            return {k for k in every if match(f"{k[0]} {k[1]}/{k[2]} svc")}

        # literal keys narrow the last result; a regular expression, an inversion or a shorter
        # text start again from every object
        for text in ("s", "s-", "s-01", "s-011", "beta/s-011", "s-01.", "!alpha", "!alpha s", "s-0", "S-00"):
            screen.apply_filter(text)
            await pilot.pause()
            assert screen._shown == expected(text), text
        assert len(screen._shown) == 200  # s-0000 .. s-0099 in both namespaces (case-insensitive)


async def test_related_objects_are_listed_up_to_a_bound(tmp_path):
    from textual.widgets import OptionList

    from meshtui.tui.screens.resources import RELATED_SHOWN

    pods = RELATED_SHOWN + 30
    docs = ["apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
            "spec:\n  selector: {app: web}\n  ports: [{name: http, port: 80}]\n"]
    docs += [f"apiVersion: v1\nkind: Pod\nmetadata: {{name: web-{i:04d}, namespace: shop, labels: {{app: web}}}}\n"
             f"spec:\n  containers: [{{name: app, image: web}}]\nstatus:\n  phase: Running\n  podIP: 10.1.{i // 250}.{i % 250 + 1}\n"
             for i in range(pods)]
    (tmp_path / "m.yaml").write_text("---\n".join(docs))
    app = make_app(str(tmp_path), analyze=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.screen.go_to(("Service", "shop", "web"))
        await wait_for(pilot, lambda: app.screen.selected == ("Service", "shop", "web"), what="the Service")
        await settle(pilot)
        rel = app.screen.query_one("#related", OptionList)
        assert rel.option_count == RELATED_SHOWN + 1
        last = rel.get_option_at_index(RELATED_SHOWN)
        assert last.disabled and str(last.prompt).startswith(f"… {pods - RELATED_SHOWN} more (")
