import { ConflictError, DomainError, ForbiddenError, NotFoundError } from '#src/common/errors.js';

export class OrgNotFoundError extends NotFoundError {
  constructor() {
    super('Organization', 'ORG_NOT_FOUND');
  }
}

export class MemberNotFoundError extends NotFoundError {
  constructor() {
    super('Member', 'MEMBER_NOT_FOUND');
  }
}

export class InvitationNotFoundError extends NotFoundError {
  constructor() {
    super('Invitation', 'INVITATION_NOT_FOUND');
  }
}

export class LastOwnerError extends DomainError {
  /** `orgIds`: the organizations that would be left without an owner (when there can be several). */
  constructor(orgIds?: string[]) {
    super(
      'LAST_OWNER',
      'An organization needs an owner: make someone else owner first.',
      409,
      orgIds ? { extra: { orgIds } } : {},
    );
  }
}

export class AlreadyMemberError extends ConflictError {
  constructor() {
    super('ALREADY_MEMBER', 'This user is already a member of the organization.');
  }
}

export class OwnerRoleRequiredError extends ForbiddenError {
  constructor() {
    super('FORBIDDEN', 'Only an owner may grant, change or remove the owner role.');
  }
}

/** The invitation link is unknown, used, revoked or expired: one answer, so tokens cannot be probed. */
export class InvitationInvalidError extends DomainError {
  constructor(code: 'INVITATION_INVALID' | 'INVITATION_EXPIRED' = 'INVITATION_INVALID') {
    super(
      code,
      code === 'INVITATION_EXPIRED' ? 'This invitation has expired.' : 'This invitation is not valid.',
      code === 'INVITATION_EXPIRED' ? 410 : 404,
    );
  }
}

export class InvitationEmailMismatchError extends ForbiddenError {
  constructor() {
    super('INVITATION_EMAIL_MISMATCH', 'This invitation was sent to another email address.');
  }
}
