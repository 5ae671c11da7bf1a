import grpc

from llmops_common.errors import STATUS_TABLE, ErrorCode, grpc_status, http_status


def test_every_code_maps_to_one_grpc_and_one_http_status():
    assert set(STATUS_TABLE) == set(ErrorCode)
    assert grpc_status(ErrorCode.CONFLICT) is grpc.StatusCode.ABORTED
    assert grpc_status(ErrorCode.INVALID) is grpc.StatusCode.INVALID_ARGUMENT
    assert http_status(ErrorCode.NOT_FOUND) == 404
    assert all(status is not grpc.StatusCode.UNKNOWN for status, _ in STATUS_TABLE.values())
