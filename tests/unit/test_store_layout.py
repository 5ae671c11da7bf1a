"""Each service's store: the contract in ``store``, the Postgres adapter in ``store.postgres`` and the
in-memory fake in ``store.memory``, which production code never imports; one ``AuditEntry`` for all."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import llmops_common
from llmops_common.audit import AuditEntry
from llmops_evaluation import store as evaluation_store
from llmops_evaluation.store import memory as evaluation_memory
from llmops_evaluation.store import postgres as evaluation_postgres
from llmops_ingestion import store as ingestion_store
from llmops_ingestion.store import memory as ingestion_memory
from llmops_ingestion.store import postgres as ingestion_postgres
from llmops_monitoring import store as monitoring_store
from llmops_monitoring.store import memory as monitoring_memory
from llmops_monitoring.store import postgres as monitoring_postgres
from llmops_prompts import store as prompts_store
from llmops_prompts.store import memory as prompts_memory
from llmops_prompts.store import postgres as prompts_postgres
from llmops_registry import store as registry_store
from llmops_registry.store import memory as registry_memory
from llmops_registry.store import postgres as registry_postgres
from llmops_training import store as training_store
from llmops_training.store import memory as training_memory
from llmops_training.store import postgres as training_postgres

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "prompts", "ingestion", "training", "evaluation", "monitoring")


def imported_modules(path: Path) -> set[str]:
    """The modules ``path`` imports anywhere in its body (``from a import b`` counts ``a`` and ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return found


def test_imported_modules_sees_both_import_forms_and_imports_in_functions(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import a.b\ndef f():\n    from c import d\n")
    assert imported_modules(source) == {"a.b", "c", "c.d"}


@pytest.mark.parametrize("service", SERVICES)
def test_production_code_never_imports_the_fake(service):
    package = ROOT / "services" / service / f"llmops_{service}"
    fake = f"llmops_{service}.store.memory"
    importers = [p.relative_to(package).as_posix() for p in package.rglob("*.py")
                 if p != package / "store" / "memory.py" and fake in imported_modules(p)]
    assert importers == []


@pytest.mark.parametrize(("contract", "adapters"), [
    (registry_store.RegistryUnitOfWork, (registry_postgres.PostgresUnitOfWork, registry_memory.InMemoryUnitOfWork)),
    (prompts_store.PromptsUnitOfWork, (prompts_postgres.PostgresUnitOfWork, prompts_memory.InMemoryUnitOfWork)),
    (ingestion_store.IngestionUnitOfWork, (ingestion_postgres.PostgresUnitOfWork,
                                           ingestion_memory.InMemoryUnitOfWork)),
    (training_store.TrainingUnitOfWork, (training_postgres.PostgresUnitOfWork, training_memory.InMemoryUnitOfWork)),
    (evaluation_store.EvaluationUnitOfWork, (evaluation_postgres.PostgresUnitOfWork,
                                             evaluation_memory.InMemoryUnitOfWork)),
    (monitoring_store.MonitoringUnitOfWork, (monitoring_postgres.PostgresUnitOfWork,
                                             monitoring_memory.InMemoryUnitOfWork)),
])
def test_the_adapter_and_the_fake_implement_the_whole_contract(contract, adapters):
    assert inspect.isabstract(contract)
    for adapter in adapters:
        assert issubclass(adapter, contract) and not inspect.isabstract(adapter), adapter


def test_audit_entry_is_defined_once_in_the_common_library():
    roots = [ROOT / "services", Path(llmops_common.__file__).parent]
    defined = [p.relative_to(ROOT).as_posix() for root in roots for p in root.rglob("*.py")
               if any(isinstance(n, ast.ClassDef) and n.name == "AuditEntry"
                      for n in ast.walk(ast.parse(p.read_text())))]
    assert defined == ["libs/llmops_common/audit.py"]
    assert {module.AuditEntry for module in (registry_postgres, registry_memory, prompts_postgres, prompts_memory,
                                             ingestion_postgres, ingestion_memory)} == {AuditEntry}
