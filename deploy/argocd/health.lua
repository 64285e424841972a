-- Argo CD health check for drs.cloudops.dev/DrsJobPause (the argocd-cm key
-- resource.customizations.health.drs.cloudops.dev_DrsJobPause embeds this file verbatim).
--   Healthy      Ready=True: every job is paused.
--   Progressing  no status yet, status older than the spec (observedGeneration), Reconciling=True,
--                or the object is being deleted.
--   Degraded     Stalled=True (e.g. missing Secret, endpoint not allowed), or Ready=False with
--                failed jobs (PartiallyPaused / Failed).
local hs = {}

local function condition(status, ctype)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function text(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Being deleted (nothing changes in DRS)"
  return hs
end

local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

local generation = 0
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  generation = obj.metadata.generation
end
if status.observedGeneration == nil or status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the latest spec"
  return hs
end

local ready = condition(status, "Ready")
local stalled = condition(status, "Stalled")
local reconciling = condition(status, "Reconciling")

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(ready, "All jobs paused")
  return hs
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  local reason = stalled.reason or "Stalled"
  hs.message = reason .. ": " .. text(stalled, "cannot progress")
  return hs
end

if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = text(reconciling, "Pausing jobs")
  return hs
end

local failed = 0
if status.summary ~= nil and status.summary.failed ~= nil then
  failed = status.summary.failed
end
if ready ~= nil and ready.status == "False" and failed > 0 then
  hs.status = "Degraded"
  hs.message = text(ready, failed .. " job(s) failed")
  return hs
end

hs.status = "Progressing"
hs.message = text(ready, "Phase " .. status.phase)
return hs
