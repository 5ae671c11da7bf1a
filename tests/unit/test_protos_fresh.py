from llmops_cli.protogen import stale_files


def test_generated_code_matches_the_protos():
    assert stale_files() == [], "generated code is stale: run `make protos` and commit libs/gen"


def test_stale_check_notices_an_edited_file(tmp_path):
    import shutil

    from llmops_cli.protogen import repo_root

    root = tmp_path / "repo"
    shutil.copytree(repo_root() / "protos", root / "protos")
    shutil.copytree(repo_root() / "libs" / "gen", root / "libs" / "gen")
    target = next((root / "libs" / "gen").rglob("registry_pb2.py"))
    target.write_text(target.read_text() + "\n# hand edit\n")
    assert any(name.endswith("registry_pb2.py") for name in stale_files(root))
