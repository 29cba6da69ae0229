import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The console's own scripts and styles, and the chart library, each served from one known file. */
const OWN = { 'console.js': 'text/javascript', 'console.css': 'text/css' } as const;
const VENDOR = { 'uPlot.esm.js': 'text/javascript', 'uPlot.min.css': 'text/css' } as const;

/**
 * Where the files are: beside the built program (webpack copies src/assets and uPlot's dist files into
 * dist/apps/console/assets), else the sources and the uplot package (tests run from source).
 */
function ownDir(): string {
  return (
    [join(__dirname, 'assets'), join(__dirname, '..', 'assets')].find((d) => existsSync(join(d, 'console.js'))) ?? join(__dirname, 'assets')
  );
}

function vendorDir(): string | undefined {
  const built = join(__dirname, 'assets', 'vendor');
  if (existsSync(join(built, 'uPlot.esm.js'))) return built;
  try {
    return join(dirname(createRequire(join(process.cwd(), 'package.json')).resolve('uplot/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

/** Static files of the pages; no CDN is ever asked for anything. */
@Controller('assets')
export class AssetsController {
  private readonly own = ownDir();
  private readonly vendor = vendorDir();

  @Get(':file')
  ownFile(@Param('file') file: string, @Res() res: Response) {
    const type = OWN[file as keyof typeof OWN];
    if (!type) throw new NotFoundException(`no asset ${file}`);
    res.type(type).sendFile(join(this.own, file));
  }

  @Get('vendor/:file')
  vendorFile(@Param('file') file: string, @Res() res: Response) {
    const type = VENDOR[file as keyof typeof VENDOR];
    if (!type || !this.vendor) throw new NotFoundException(`no asset vendor/${file} (is the uplot package installed?)`);
    res.type(type).sendFile(join(this.vendor, file));
  }
}
