import type { NextFunction, Request, Response } from 'express';
import { platformMetrics } from './prometheus.js';

/**
 * Counts every HTTP request (including ones guards reject and unmatched paths) by route template,
 * never by raw path, so ids in URLs cannot explode the label cardinality. A plain Express
 * middleware mounted first (`configureHttpApp`), so its clock covers every other layer.
 */
export function httpMetrics(req: Request, res: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    const route = req.route?.path ? `${req.baseUrl ?? ''}${String(req.route.path)}` : 'unmatched';
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const metrics = platformMetrics();
    metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    metrics.httpDuration.observe({ method: req.method, route }, seconds);
  });
  next();
}
