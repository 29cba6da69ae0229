import { Body, Controller, Get, Header, HttpCode, NotFoundException, Param, Post, Query, Redirect } from '@nestjs/common';
import { ingestV1, millisToTimestamp } from '@pulse/contracts';
import { randomUUID } from 'node:crypto';
import { PeerError } from '../peers/peer-error';
import { Peers } from '../peers/peers';
import { invalidInput, peerFailure } from '../web/api-error';
import { enumName } from '../web/format';
import { markup } from '../web/html';
import { page, panel } from '../web/layout';
import { USER_PANELS, type UserPanel, UserPanels } from './user.panels';
import { userIdProblem } from './user-id';

const TITLES: Record<UserPanel, string> = {
  profile: 'Profile',
  activity: 'Recent activity',
  features: 'Online features',
  recommendations: 'Recommendations',
  people: 'People you may know',
};
const ACTIONS = { LIKE: ingestV1.ActivityType.ACTIVITY_TYPE_LIKE, HIDE: ingestV1.ActivityType.ACTIVITY_TYPE_HIDE } as const;

function userForm(value = '', problem?: string) {
  return markup`<form class="inline" method="get" action="/users/go">
    <label>user id <input name="id" value="${value}" required maxlength="128" pattern="[\\x21-\\x7e]+" /></label>
    <button type="submit">open</button>
    ${problem ? markup`<span class="error">${problem}</span>` : ''}
  </form>`;
}

/** A user's page: profile, activity, online features, recommendations and people they may know, and buttons that act as the user. */
@Controller()
export class UsersController {
  constructor(
    private readonly panels: UserPanels,
    private readonly peers: Peers,
  ) {}

  @Get('users')
  @Header('Content-Type', 'text/html; charset=utf-8')
  users(@Query('id') id?: string): string {
    const problem = id === undefined ? undefined : userIdProblem(id);
    return page('Users', 'users', panel({ id: 'find', title: 'Open a user', wide: true }, userForm(id, problem ?? undefined)));
  }

  @Get('users/go')
  @Redirect('/users', 302)
  go(@Query('id') id = '') {
    return userIdProblem(id) ? { url: `/users?id=${encodeURIComponent(id)}` } : { url: `/users/${encodeURIComponent(id)}` };
  }

  @Get('users/:id')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async user(@Param('id') id: string): Promise<string> {
    const problem = userIdProblem(id);
    if (problem) return page('Users', 'users', panel({ id: 'find', title: 'Open a user', wide: true }, userForm(id, problem)));
    const bodies = await Promise.all(USER_PANELS.map((name) => this.panels.render(name, id)));
    const base = `/panels/users/${encodeURIComponent(id)}`;
    return page(
      `User ${id}`,
      'users',
      markup`${userForm(id)}
        <div class="grid">
          ${USER_PANELS.map((name, i) =>
            panel({ id: name, title: TITLES[name], src: `${base}/${name}`, refreshMs: 5000, wide: name === 'recommendations' }, bodies[i]),
          )}
        </div>`,
    );
  }

  @Get('panels/users/:id/:panel')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async fragment(@Param('id') id: string, @Param('panel') name: string): Promise<string> {
    if (!(USER_PANELS as readonly string[]).includes(name)) throw new NotFoundException(`no user panel ${name}`);
    const problem = userIdProblem(id);
    if (problem) return markup`<p class="error">${problem}</p>`.value;
    return (await this.panels.render(name as UserPanel, id)).value;
  }

  /**
   * Acts as the user on a recommended item: a LIKE or HIDE event through ingest TrackEvents, carrying the list's
   * recommendation_id so the interaction is attributed to it. Ingest's verdict on the event is the answer.
   */
  @Post('api/users/:id/events')
  @HttpCode(200)
  async act(
    @Param('id') userId: string,
    @Body() body: { type?: string; itemId?: string; recommendationId?: string },
  ): Promise<{ status: string; eventId: string; message: string }> {
    const problem = userIdProblem(userId);
    if (problem) throw invalidInput('user_id', problem);
    const type = ACTIONS[body?.type as keyof typeof ACTIONS];
    if (type === undefined) throw invalidInput('type', 'LIKE or HIDE');
    const itemId = String(body.itemId ?? '');
    if (itemId.length === 0 || itemId.length > 128) throw invalidInput('item_id', '1 to 128 characters');
    const recommendationId = String(body.recommendationId ?? '');
    if (recommendationId.length > 128) throw invalidInput('recommendation_id', 'at most 128 characters');
    const eventId = randomUUID();
    let response: ingestV1.TrackEventsResponse;
    try {
      response = await this.peers.call<ingestV1.TrackEventsResponse>('ingest', 'TrackEvents', {
        clientId: 'console',
        events: [
          {
            eventId,
            userId,
            type,
            target: { type: ingestV1.TargetType.TARGET_TYPE_POST, id: itemId },
            occurredAt: millisToTimestamp(Date.now()),
            properties: { surface: 'console' },
            recommendationId,
          },
        ],
      });
    } catch (error) {
      throw peerFailure(error);
    }
    const result = response.results[0];
    const status = enumName(ingestV1.EventStatus, result?.status ?? 0, 'EVENT_STATUS_');
    if (status === 'REJECTED') {
      const reason = enumName(ingestV1.RejectionReason, result.reason, 'REJECTION_REASON_');
      const ingest = this.peers.get('ingest');
      throw peerFailure(
        new PeerError('ingest', ingest.grpc ?? ingest.http, `REJECTED ${reason}`, `${result.field || 'event'}: ${result.message}`, false),
      );
    }
    return { status, eventId, message: `${body.type} of ${itemId} as ${userId}: ${status.toLowerCase()} by ingest` };
  }
}
