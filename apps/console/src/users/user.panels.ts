import { Inject, Injectable } from '@nestjs/common';
import { featuresV1, ingestV1, recsV1, storageV1 } from '@pulse/contracts';
import { LOGGER, type Logger } from '@pulse/platform';
import { PeerError } from '../peers/peer-error';
import { Peers } from '../peers/peers';
import { duration, enumName, num, when } from '../web/format';
import { type Html, markup } from '../web/html';
import { failure, settle, table } from '../web/layout';

export const USER_PANELS = ['profile', 'activity', 'features', 'recommendations', 'people'] as const;
export type UserPanel = (typeof USER_PANELS)[number];

/** A FeatureValue as proto-loader gives it: the set case of the oneof is named by `kind`. */
type LoadedValue = Record<string, unknown> & { kind?: string };

/**
 * One user as the platform knows them: storage's profile and activity, the feature store's online values, the
 * recommender's list and the people they may know.
 */
@Injectable()
export class UserPanels {
  constructor(
    private readonly peers: Peers,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  render(name: UserPanel, userId: string): Promise<Html> {
    const renderers: Record<UserPanel, () => Promise<Html>> = {
      profile: () => this.profile(userId),
      activity: () => this.activity(userId),
      features: () => this.features(userId),
      recommendations: () => this.recommendations(userId),
      people: () => this.people(userId),
    };
    return settle(renderers[name], this.logger);
  }

  /** storage GetProfile and GetFollowCounts, each on its own: counts show even for a user without a profile. */
  private async profile(userId: string): Promise<Html> {
    const [profile, counts] = await Promise.allSettled([
      this.peers.call<storageV1.GetProfileResponse>('storage', 'GetProfile', { userId }),
      this.peers.call<storageV1.GetFollowCountsResponse>('storage', 'GetFollowCounts', { userId }),
    ]);
    let about: Html;
    if (profile.status === 'fulfilled' && profile.value.profile) {
      const p = profile.value.profile;
      about = markup`<dl>
        <dt>handle</dt>
        <dd>@${p.handle}</dd>
        <dt>name</dt>
        <dd>${p.displayName || '—'}</dd>
        <dt>bio</dt>
        <dd>${p.bio || '—'}</dd>
        <dt>joined</dt>
        <dd>${when(p.createdAt)}</dd>
      </dl>`;
    } else if (profile.status === 'rejected' && profile.reason instanceof PeerError && profile.reason.status === 'NOT_FOUND') {
      about = markup`<p class="muted">storage has no profile for <code>${userId}</code></p>`;
    } else {
      about = failure(profile.status === 'rejected' ? profile.reason : new Error('empty answer'));
    }
    // One line for storage being down, not one per call.
    if (profile.status === 'rejected' && counts.status === 'rejected' && profile.reason instanceof PeerError && profile.reason.unreachable)
      return about;
    const follows =
      counts.status === 'fulfilled'
        ? markup`<p>
            <strong data-followers>${num(Number(counts.value.counts?.followers ?? 0))}</strong> followers ·
            <strong data-following>${num(Number(counts.value.counts?.following ?? 0))}</strong> following
          </p>`
        : failure(counts.reason);
    return markup`${about}${follows}`;
  }

  /** storage ListActivity: the latest 20 actions, newest first. */
  private async activity(userId: string): Promise<Html> {
    const { activities } = await this.peers.call<storageV1.ListActivityResponse>('storage', 'ListActivity', { userId, pageSize: 20 });
    const rows = activities.map(
      (a) => markup`<tr data-event="${a.eventId}">
        <td>${when(a.occurredAt)}</td>
        <td>${enumName(ingestV1.ActivityType, a.type, 'ACTIVITY_TYPE_')}</td>
        <td>${enumName(ingestV1.TargetType, a.target?.type ?? 0, 'TARGET_TYPE_').toLowerCase()} <code>${a.target?.id ?? ''}</code></td>
      </tr>`,
    );
    return table(['when', 'action', 'target'], rows, `no activity stored for ${userId}`);
  }

  /** feature-store: every online feature of the views keyed by the user entity (from the registry), with status and age. */
  private async features(userId: string): Promise<Html> {
    const { registry } = await this.peers.call<featuresV1.GetRegistryResponse>('feature-store', 'GetRegistry', {});
    const entity = registry?.entities.find((e) => e.name === 'user');
    if (!registry || !entity) return markup`<p class="muted">the feature registry has no user entity</p>`;
    const views = registry.featureViews.filter((v) => v.online && v.entities.length === 1 && v.entities[0] === 'user');
    const refs = views.flatMap((v) => v.features.map((f) => `${v.name}:${f.name}`));
    if (refs.length === 0) return markup`<p class="muted">no online feature view is keyed by user</p>`;
    const response = await this.peers.call<featuresV1.GetOnlineFeaturesResponse>('feature-store', 'GetOnlineFeatures', {
      entityRows: [{ joinKeys: { [entity.joinKey]: { stringValue: userId } } }],
      features: { refs },
    });
    const results = response.rows[0]?.features ?? [];
    const rows = response.featureRefs.map((ref, i) => {
      const r = results[i];
      const status = enumName(featuresV1.FeatureStatus, r?.status ?? 0, 'FEATURE_STATUS_');
      return markup`<tr data-feature="${ref}" data-status="${status}">
        <td><code>${ref}</code></td>
        <td class="num">${valueText(r?.value as LoadedValue | undefined)}</td>
        <td class="${status === 'PRESENT' ? 'ok' : 'muted'}">${status.toLowerCase().replace('_', ' ')}</td>
        <td>${r?.age ? duration(r.age.seconds * 1000 + r.age.nanos / 1e6) : '—'}</td>
      </tr>`;
    });
    return table(['feature', 'value', 'status', 'age'], rows);
  }

  /** recs Recommend: the list the user would see now, with buttons to act on each item as the user. */
  private async recommendations(userId: string): Promise<Html> {
    const response = await this.peers.call<recsV1.RecommendResponse>('recommender', 'Recommend', {
      userId,
      numResults: 10,
      excludeSeen: true,
    });
    const strategy = enumName(recsV1.Strategy, response.strategy, 'STRATEGY_');
    // `source` arrives with the recommender's candidate sources; shown as soon as its answers carry it.
    const withSource = response.items.some((item) => typeof (item as { source?: unknown }).source === 'string');
    const rows = response.items.map(
      (item) =>
        markup`<tr data-item="${item.itemId}">
          <td class="num">${item.rank}</td>
          <td><code>${item.itemId}</code></td>
          <td class="num">${item.score.toFixed(4)}</td>
          ${withSource ? markup`<td>${String((item as { source?: unknown }).source ?? '')}</td>` : ''}
          <td class="actions">
            ${(['LIKE', 'HIDE'] as const).map(
              (type) =>
                markup`<form class="inline" data-action="/api/users/${encodeURIComponent(userId)}/events" data-refreshes="recommendations,activity">
                  <input type="hidden" name="type" value="${type}" />
                  <input type="hidden" name="itemId" value="${item.itemId}" />
                  <input type="hidden" name="recommendationId" value="${response.recommendationId}" />
                  <button type="submit" data-act="${type.toLowerCase()}">${type === 'LIKE' ? 'like' : 'hide'}</button>
                </form>`,
            )}
          </td>
        </tr>`,
    );
    const headers = ['rank', 'item', 'score', ...(withSource ? ['source'] : []), `act as ${userId}`];
    return markup`<p>model <code data-model-version>${response.modelVersion || '—'}</code> · strategy <strong>${strategy}</strong> ·
        list <code>${response.recommendationId}</code></p>
      ${table(headers, rows, 'no items')}`;
  }

  /** recs RecommendUsers: people the user may know (the analytics service's daily list), each linked to their page. */
  private async people(userId: string): Promise<Html> {
    const response = await this.peers.call<recsV1.RecommendUsersResponse>('recommender', 'RecommendUsers', { userId, numResults: 10 });
    const degraded = response.degraded.map((d) => `${d.dependency} (${d.reason})`);
    const about =
      response.users.length === 0
        ? markup`<p class="muted" data-people-fallback>${response.fallbackReason || 'no people for this user'}</p>`
        : markup`<p>list of ${when(response.computedAt)}${degraded.length > 0 ? markup` · without <strong>${degraded.join(', ')}</strong>` : ''}</p>`;
    const rows = response.users.map(
      (u) => markup`<tr data-person="${u.userId}">
        <td><a href="/users/${encodeURIComponent(u.userId)}"><code>${u.userId}</code></a></td>
        <td class="num">${num(Number(u.commonConnections))}</td>
        <td class="num">${u.score.toFixed(2)}</td>
      </tr>`,
    );
    return response.users.length === 0 ? about : markup`${about}${table(['account', 'common connections', 'score'], rows)}`;
  }
}

/** The text of a FeatureValue of whichever type it holds. */
function valueText(value: LoadedValue | undefined): string {
  if (!value?.kind) return '—';
  const v = value[value.kind];
  if (v && typeof v === 'object' && 'values' in v) return `[${(v as { values: unknown[] }).values.join(', ')}]`;
  if (v && typeof v === 'object' && 'seconds' in v) return when(v as { seconds: number; nanos: number });
  return typeof v === 'number' ? num(v) : String(v);
}
