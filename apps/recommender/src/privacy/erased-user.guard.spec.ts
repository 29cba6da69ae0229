import type { ExecutionContext } from '@nestjs/common';
import type { ErasureList } from '@pulse/platform';
import { ErasedUserGuard } from './erased-user.guard';

const context = (data: unknown, type = 'rpc') =>
  ({ getType: () => type, switchToRpc: () => ({ getData: () => data }) }) as unknown as ExecutionContext;

describe('ErasedUserGuard', () => {
  const guard = new ErasedUserGuard({ has: (id: string | null | undefined) => id === '42' } as unknown as ErasureList);

  it('refuses a request naming an erased user with NOT_FOUND', () => {
    expect(() => guard.canActivate(context({ userId: '42', numResults: 10 }))).toThrow(expect.objectContaining({ code: 5 }));
  });

  it('lets other users, requests without a user and non-RPC calls through', () => {
    expect(guard.canActivate(context({ userId: '7' }))).toBe(true);
    expect(guard.canActivate(context({ itemId: 'p-1' }))).toBe(true);
    expect(guard.canActivate(context({ userId: '42' }, 'http'))).toBe(true);
  });
});
