import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AuditRepository } from '../../audit/audit.repository.ts'
import type { AuditEntry, User } from '../../db/schema.ts'
import { HttpProblem, unprocessable } from '../../http/problem.ts'
import type { RequestMeta } from '../../http/request-context.ts'
import { stub, userRow } from '../../testing/fakes.ts'
import type { LoginThrottleRepository } from '../auth/login-throttle.repository.ts'
import { verifyPassword } from '../auth/passwords.ts'
import type { SessionsRepository } from '../auth/sessions.repository.ts'
import type { KeysRepository } from '../keys/keys.repository.ts'
import type { UsersRepository } from './users.repository.ts'
import { usersService, type PersonalData } from './users.service.ts'

const GOOD = 'correct horse battery staple'
const NEXT = 'violet kettle orbit meadow'
const meta: RequestMeta = { requestId: 'r1', ip: '192.0.2.1', userAgent: 'test', method: 'POST', route: '/' }

const problem = (status: number, detail?: string | RegExp) => (error: unknown) => {
  assert.ok(error instanceof HttpProblem, `expected an HttpProblem, got ${String(error)}`)
  assert.equal(error.status, status)
  if (typeof detail === 'string') assert.equal(error.message, detail)
  else if (detail) assert.match(error.message, detail)
  return true
}

const LAST_ADMIN = 'This is the last enabled admin; promote another admin first'

/** The users table in memory, keeping the repository's own last-admin check. */
function fakeUsers (initial: User[]) {
  const rows = new Map(initial.map((u) => [u.id, u]))
  const admins = () => [...rows.values()].filter((u) => u.role === 'admin' && !u.disabled)
  const removesLast = (id: string) => admins().length <= 1 && admins().some((a) => a.id === id)
  const repo = stub<UsersRepository>('users', {
    findById: async (id) => rows.get(id),
    findByEmail: async (email) => [...rows.values()].find((u) => u.email.toLowerCase() === email.toLowerCase()),
    async insert (user) {
      if ([...rows.values()].some((u) => u.email.toLowerCase() === user.email.toLowerCase())) return undefined
      const row = userRow({ ...user, tier: user.tier ?? 'free' } as Partial<User>)
      rows.set(row.id, row)
      return row
    },
    async update (id, patch) { rows.set(id, { ...rows.get(id)!, ...patch } as User); return rows.get(id) },
    countActiveAdmins: async () => admins().length,
    async updateKeepingAnAdmin (id, patch) {
      if (((patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true) && removesLast(id)) return 'last_admin'
      if (!rows.has(id)) return undefined
      rows.set(id, { ...rows.get(id)!, ...patch } as User)
      return rows.get(id)
    },
    async deleteKeepingAnAdmin (id) {
      if (removesLast(id)) return 'last_admin'
      return rows.delete(id)
    }
  })
  return { repo, rows }
}

function setup (initial: User[], options: { reauthenticate?: (user: Pick<User, 'id'>, password: string) => void, personalData?: PersonalData[] } = {}) {
  const users = fakeUsers(initial)
  const revoked: { userId: string, reason: string, except?: string }[] = []
  const keysRevoked: string[] = []
  const throttleCleared: string[] = []
  const pseudonymised: string[] = []
  const chosen: string[] = []
  const reauths: { userId: string, purpose: string }[] = []
  const audit: AuditEntry[] = []
  const service = usersService({
    oneTimePasswordHours: 72,
    users: users.repo,
    sessions: stub<SessionsRepository>('sessions', {
      async revokeAllForUser (userId, reason, except) { revoked.push({ userId, reason, ...(except ? { except } : {}) }); return 2 },
      listAllForUser: async () => []
    }),
    keys: stub<KeysRepository>('keys', { async revokeAllForUser (userId) { keysRevoked.push(userId); return 1 }, listForUser: async () => [] }),
    throttle: stub<LoginThrottleRepository>('throttle', { async clearEmail (email) { throttleCleared.push(email) }, listForEmail: async () => [] }),
    auditLog: stub<AuditRepository>('audit', { listAboutUser: async () => audit, async pseudonymiseActor (userId) { pseudonymised.push(userId) } }),
    personalData: options.personalData,
    async passwordChosen (user) { chosen.push(user.id) },
    async reauthenticate (user, password, _meta, purpose, field) {
      reauths.push({ userId: user.id, purpose })
      if (password !== GOOD) throw unprocessable(`${field} is not correct`, { field })
      options.reauthenticate?.(user, password)
    }
  })
  return { service, users, revoked, keysRevoked, throttleCleared, pseudonymised, chosen, reauths, audit }
}

describe('users service: create', () => {
  it('refuses a bad email, a weak password and a taken address', async () => {
    const t = setup([userRow({ email: 'Taken@example.org' })])
    await assert.rejects(t.service.create({ email: 'not an email', password: GOOD, role: 'member' }), problem(422, 'email is not a valid email address'))
    await assert.rejects(t.service.create({ email: 'a@example.org', password: 'short', role: 'member' }), problem(422))
    await assert.rejects(t.service.create({ email: 'taken@example.org', password: GOOD, role: 'member' }), problem(409, 'A user with this email already exists'))
    assert.equal(t.users.rows.size, 1)
  })

  it('makes a password chosen for someone else one-time, expiring after ONE_TIME_PASSWORD_HOURS', async () => {
    const t = setup([])
    const oneTime = await t.service.create({ email: 'a@example.org', password: GOOD, role: 'member', oneTime: true })
    assert.equal(oneTime.must_change_password, true)
    const hours = (oneTime.password_expires_at!.getTime() - Date.now()) / 3_600_000
    assert.ok(hours > 71.9 && hours <= 72, `expires in ${hours} h`)
    assert.match(oneTime.password_hash!, /^\$argon2id\$/)
    const own = await t.service.create({ email: 'b@example.org', password: GOOD, role: 'member' })
    assert.equal(own.must_change_password, false)
    assert.equal(own.password_expires_at, null)
  })
})

describe('users service: the last enabled admin', () => {
  it('cannot be demoted, disabled or erased; with a second admin it can', async () => {
    const admin = userRow({ role: 'admin' })
    const t = setup([admin, userRow({ role: 'admin', disabled: true })])
    await assert.rejects(t.service.update(admin.id, { role: 'member' }), problem(409, LAST_ADMIN))
    await assert.rejects(t.service.update(admin.id, { disabled: true }), problem(409, LAST_ADMIN))
    await assert.rejects(t.service.erase(admin.id), problem(409, LAST_ADMIN))
    assert.equal(t.users.rows.get(admin.id)?.role, 'admin')
    assert.equal(t.users.rows.get(admin.id)?.disabled, false)
    const second = userRow({ role: 'admin' })
    t.users.rows.set(second.id, second)
    assert.equal((await t.service.update(admin.id, { role: 'member' })).role, 'member')
  })

  it('is kept by the repository\'s atomic check when the early count raced another admin', async () => {
    const admin = userRow({ role: 'admin' })
    const t = setup([admin])
    t.users.repo.countActiveAdmins = async () => 2
    await assert.rejects(t.service.update(admin.id, { disabled: true }), problem(409, LAST_ADMIN))
    assert.equal(t.users.rows.get(admin.id)?.disabled, false)
    assert.deepEqual(t.revoked, [])
  })
})

describe('users service: admin edits', () => {
  it('disabling ends every session and key of the user', async () => {
    const bob = userRow()
    const t = setup([bob])
    await t.service.update(bob.id, { disabled: true })
    assert.deepEqual(t.revoked, [{ userId: bob.id, reason: 'user_disabled' }])
    assert.deepEqual(t.keysRevoked, [bob.id])
  })

  it('a password set for someone else is one-time and resets their sessions and throttle; one set for oneself is not', async () => {
    const admin = userRow({ role: 'admin' })
    const bob = userRow({ email: 'Bob@Example.org' })
    const t = setup([admin, bob])
    const edited = await t.service.update(bob.id, { password: GOOD }, { actorId: admin.id })
    assert.equal(edited.must_change_password, true)
    assert.ok(edited.password_expires_at)
    assert.deepEqual(t.revoked, [{ userId: bob.id, reason: 'password_reset' }])
    assert.deepEqual(t.throttleCleared, ['bob@example.org'])
    const self = await t.service.update(admin.id, { password: NEXT }, { actorId: admin.id })
    assert.equal(self.must_change_password, false)
    assert.equal(self.password_expires_at, null)
  })

  it('answers 404 for the service account and for a missing user', async () => {
    const service = userRow({ is_service: true })
    const t = setup([service])
    await assert.rejects(t.service.get(service.id), problem(404, 'User was not found'))
    await assert.rejects(t.service.update('missing', { tier: 'premium' }), problem(404))
  })
})

describe('users service: password change', () => {
  it('needs the current password: a wrong one changes nothing', async () => {
    const bob = userRow({ password_hash: 'old-hash', must_change_password: true })
    const t = setup([bob])
    await assert.rejects(t.service.changePassword(bob.id, 's1', 'wrong password', NEXT, meta), problem(422, 'currentPassword is not correct'))
    assert.deepEqual(t.reauths, [{ userId: bob.id, purpose: 'password_change' }])
    assert.equal(t.users.rows.get(bob.id)?.password_hash, 'old-hash')
    assert.deepEqual(t.revoked, [])
    assert.deepEqual(t.chosen, [])
  })

  it('refuses a weak new password after re-authentication', async () => {
    const bob = userRow({ password_hash: 'old-hash' })
    const t = setup([bob])
    await assert.rejects(t.service.changePassword(bob.id, 's1', GOOD, 'password', meta), problem(422))
    assert.equal(t.users.rows.get(bob.id)?.password_hash, 'old-hash')
  })

  it('clears the one-time state and ends every other session', async () => {
    const bob = userRow({ password_hash: 'old-hash', must_change_password: true, password_expires_at: new Date(Date.now() + 1000) })
    const t = setup([bob])
    assert.equal(await t.service.changePassword(bob.id, 's1', GOOD, NEXT, meta), 2)
    const row = t.users.rows.get(bob.id)!
    assert.equal(row.must_change_password, false)
    assert.equal(row.password_expires_at, null)
    assert.ok(await verifyPassword(row.password_hash!, NEXT))
    assert.deepEqual(t.revoked, [{ userId: bob.id, reason: 'password_changed', except: 's1' }])
    assert.deepEqual(t.chosen, [bob.id])
  })
})

describe('users service: personal data', () => {
  const participant = (section: string, log: string[]): PersonalData => ({
    section,
    export: async (userId) => [`${section} of ${userId}`],
    async erase (userId) { log.push(`${section}:${userId}`) }
  })

  it('exports every participant\'s section and hides other actors\' addresses in the audit trail', async () => {
    const bob = userRow()
    const t = setup([bob], { personalData: [participant('files', []), participant('jobs', [])] })
    t.audit.push(
      { id: 1, at: new Date(), action: 'auth.login', actor_user_id: bob.id, subject_user_id: bob.id, ip: '192.0.2.1', method: 'POST', route: '/login', status: 200, detail: {} } as unknown as AuditEntry,
      { id: 2, at: new Date(), action: 'admin.user.update', actor_user_id: 'admin-id', subject_user_id: bob.id, ip: '198.51.100.9', method: 'PATCH', route: '/users', status: 200, detail: {} } as unknown as AuditEntry
    )
    const exported = await t.service.exportData(bob.id) as Record<string, unknown> & { auditLog: { ip: string | null }[], user: { id: string } }
    assert.equal(exported.user.id, bob.id)
    assert.deepEqual(exported.files, [`files of ${bob.id}`])
    assert.deepEqual(exported.jobs, [`jobs of ${bob.id}`])
    assert.deepEqual(exported.auditLog.map((a) => a.ip), ['192.0.2.1', null])
  })

  it('erasure needs the password, then erases every participant, the account, and unlinks the audit trail', async () => {
    const bob = userRow({ email: 'Bob@example.org' })
    const erased: string[] = []
    const t = setup([bob, userRow()], { personalData: [participant('files', erased), participant('jobs', erased)] })
    await assert.rejects(t.service.confirmErasure(bob.id, undefined, meta), problem(422, /^Erasure cannot be undone/))
    await assert.rejects(t.service.confirmErasure(bob.id, 'wrong', meta), problem(422, 'password is not correct'))
    await t.service.confirmErasure(bob.id, GOOD, meta)
    assert.deepEqual(t.reauths.map((r) => r.purpose), ['erase', 'erase'])
    await t.service.erase(bob.id)
    assert.deepEqual(erased, [`files:${bob.id}`, `jobs:${bob.id}`])
    assert.equal(t.users.rows.has(bob.id), false)
    assert.equal(t.users.rows.size, 1)
    assert.deepEqual(t.pseudonymised, [bob.id])
    assert.deepEqual(t.throttleCleared, ['bob@example.org'])
  })

  it('erases nothing of the last admin', async () => {
    const admin = userRow({ role: 'admin' })
    const erased: string[] = []
    const t = setup([admin], { personalData: [participant('files', erased)] })
    await assert.rejects(t.service.erase(admin.id), problem(409, LAST_ADMIN))
    assert.deepEqual(erased, [])
    assert.ok(t.users.rows.has(admin.id))
  })
})
