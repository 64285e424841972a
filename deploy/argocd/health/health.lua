-- Argo CD health check for drs.cloudops.dev/DrsJobPause, in the layout of argo-cd's
-- resource_customizations/<group>/<kind>/ (health_test.yaml and testdata/ beside it). The argocd-cm
-- key resource.customizations.health.drs.cloudops.dev_DrsJobPause embeds this file verbatim.
--   Healthy      Ready=True and not Stalled: every job is paused.
--   Progressing  no status yet, status older than the spec (observedGeneration), Reconciling=True,
--                or the object is being deleted.
--   Degraded     Stalled=True (missing Secret, endpoint not allowed, rejected credentials, failed
--                jobs, invalid spec), also next to Ready=True; or Ready=False with failed jobs.
-- Only Lua's base and table libraries: Argo CD runs custom checks without the others.
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

-- Argo CD 3.x answers "Pending deletion" itself for an object being deleted and does not run
-- this script then (gitops-engine health.GetResourceHealth); this branch is for versions that
-- hand deletion to the check, and says the same thing, plus what holds the object.
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  if obj.metadata.finalizers ~= nil and #obj.metadata.finalizers > 0 then
    hs.message = "Pending deletion; waiting for finalizers: " .. table.concat(obj.metadata.finalizers, ", ")
  else
    hs.message = "Pending deletion; nothing changes in DRS"
  end
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

-- Stalled first: someone has to act, even where every job is paused (kstatus reads it as Failed).
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  local reason = stalled.reason or "Stalled"
  hs.message = reason .. ": " .. text(stalled, "cannot progress")
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(ready, "All jobs paused")
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
