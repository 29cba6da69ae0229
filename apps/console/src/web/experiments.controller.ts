import { Controller, Get, Header } from '@nestjs/common';
import { markup } from './html';
import { page, panel } from './layout';

/** A place in the navigation for experiments; it shows data once the recommender assigns users to experiments. */
@Controller()
export class ExperimentsController {
  @Get('experiments')
  @Header('Content-Type', 'text/html; charset=utf-8')
  experiments(): string {
    return page(
      'Experiments',
      'experiments',
      panel(
        { id: 'experiments', title: 'Experiments', wide: true },
        markup`<p class="muted">
          No service exposes experiments yet: this page will list them, their arms and outcomes once the recommender assigns users to
          experiments and etl writes exposures and outcomes to the lake.
        </p>`,
      ),
    );
  }
}
