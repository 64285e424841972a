-- Argo CD health check for drs.cloudops.dev/DrsPauseWindow, in the layout of argo-cd's
-- resource_customizations/<group>/<kind>/ (health_test.yaml and testdata/ beside it). The argocd-cm
-- key resource.customizations.health.drs.cloudops.dev_DrsPauseWindow embeds this file verbatim.
--   Healthy      Ready=True and not Stalled: the window waits for its next start, has a child
--                open, or holds a start until the previous child has resumed.
--   Suspended    spec.suspend is true (and nothing is stalled).
--   Progressing  no status yet, status older than the spec (observedGeneration), or the window is
--                being deleted (its children resume first).
--   Degraded     Stalled=True: invalid schedule, unknown time zone, invalid template, or a child
--                the API server refused.
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

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion; its children resume what they paused before they go"
  return hs
end

local status = obj.status
local ready = condition(status, "Ready")
if status == nil or ready == nil then
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

local stalled = condition(status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. text(stalled, "cannot start windows")
  return hs
end

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = text(ready, "Suspended")
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(ready, "Waiting for the next window")
  return hs
end

hs.status = "Progressing"
hs.message = text(ready, "Reconciling")
return hs
