/** The signed-in user as guards put it on the request (`@CurrentUser()`). */
export interface AuthUser {
  id: string;
  email: string;
  role: 'user' | 'admin';
  emailVerified: boolean;
  /** The session (device) the access token belongs to. */
  sessionId: string;
  /** The user's state generation as authentication read it for this request (see UserStateCache). */
  stateGen?: number;
}
