import { status } from "@grpc/grpc-js";
import { ApiError } from "@varstream/shared";

/** HTTP statuses of the error catalogue, as gRPC codes. */
export function grpcError(err: unknown): { code: status; details: string } {
  if (!(err instanceof ApiError)) return { code: status.INTERNAL, details: "internal error" };
  const details = `${err.code}: ${err.message}`;
  switch (err.status) {
    case 401:
      return { code: status.UNAUTHENTICATED, details };
    case 403:
      return { code: status.PERMISSION_DENIED, details };
    case 404:
      return { code: status.NOT_FOUND, details };
    case 503:
      return { code: status.UNAVAILABLE, details };
    default:
      return { code: status.INVALID_ARGUMENT, details };
  }
}
