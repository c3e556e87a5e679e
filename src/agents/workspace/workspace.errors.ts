import { DomainError, ValidationFailedError } from '#src/common/errors.js';

/** A file path or file set a caller supplied breaks the workspace rules (400, naming the field). */
export class WorkspacePathError extends ValidationFailedError {
  constructor(field: string, message: string) {
    super([{ field, message }], `${field} ${message}`);
  }
}

/** A workspace on disk holds more than the configured limits allow, or a path escaped it. */
export class WorkspaceLimitError extends DomainError {
  constructor(message: string) {
    super('WORKSPACE_LIMIT_EXCEEDED', message, 422);
  }
}

export class WorkspaceUnsafePathError extends DomainError {
  constructor(path: string) {
    super(
      'WORKSPACE_UNSAFE_PATH',
      `The workspace path ${JSON.stringify(path)} is not a plain file inside the workspace.`,
      422,
    );
  }
}
