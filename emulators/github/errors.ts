// One error type for every failure the emulator reports, so that the REST layer and the GraphQL
// layer each map it to GitHub's shape in exactly one place.

export const DOCUMENTATION_URL = "https://docs.github.com/rest";

export interface ValidationErrorItem {
  resource: string;
  code: string;
  field?: string;
  message?: string;
}

/** The `type` GitHub's GraphQL API puts on an error. */
export type GraphQLErrorType = "NOT_FOUND" | "UNPROCESSABLE" | "FORBIDDEN" | "MISSING_PAGINATION_BOUNDARIES" | "EXCESSIVE_PAGINATION";

export class EmulatorError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly graphqlType: GraphQLErrorType,
    readonly errors?: ValidationErrorItem[],
  ) {
    super(message);
    this.name = "EmulatorError";
  }
}

export function notFound(message = "Not Found"): EmulatorError {
  return new EmulatorError(404, message, "NOT_FOUND");
}

export function validationFailed(...errors: ValidationErrorItem[]): EmulatorError {
  return new EmulatorError(422, "Validation Failed", "UNPROCESSABLE", errors);
}

/** A 422 whose message is GitHub's own sentence (the contents API answers this way, not with `errors`). */
export function unprocessable(message: string, ...errors: ValidationErrorItem[]): EmulatorError {
  return new EmulatorError(422, message, "UNPROCESSABLE", errors.length ? errors : undefined);
}

export function conflict(message: string): EmulatorError {
  return new EmulatorError(409, message, "UNPROCESSABLE");
}

export function restErrorBody(status: number, message: string, errors?: ValidationErrorItem[]): Record<string, unknown> {
  return { message, ...(errors ? { errors } : {}), documentation_url: DOCUMENTATION_URL, status: String(status) };
}
